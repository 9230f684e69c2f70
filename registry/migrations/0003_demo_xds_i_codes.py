"""The demo value sets also take the codes of the NIST testkit's XDS-I.b data (IDCDEPT001).

That data writes DICOM and SNOMED codes with the designators "DCM" and "SRT" rather than OIDs, as
many imaging document sources do; both spellings are in the demo set (RAD TF-3 4.68.4.1.2.3.2:
modality from CID 29, anatomic region from CID 4).
"""

from django.db import migrations

LOINC = "2.16.840.1.113883.6.1"
MODALITIES = (("CR", "Computed Radiography"), ("CT", "Computed Tomography"), ("DX", "Digital Radiography"),
              ("MG", "Mammography"), ("MR", "Magnetic Resonance"), ("NM", "Nuclear Medicine"),
              ("PT", "Positron emission tomography"), ("RF", "Radio Fluoroscopy"), ("US", "Ultrasound"),
              ("XA", "X-Ray Angiography"), ("OT", "Other"), ("KO", "Key Object Selection"))
CODES = [
    ("classCode", "DEMO-Index", "1.3.6.1.4.1.21367.100.1", "Document Index"),
    ("practiceSettingCode", "309964003", "SRT", "Radiology department (environment)"),
    ("contentTypeCode", "11502-2", LOINC, "Laboratory report.total"),
    ("healthcareFacilityTypeCode", "Outpatient", "Connect-a-thon healthcareFacilityTypeCodes 2", "Outpatient"),
    *[("eventCodeList", code, "DCM", name) for code, name in MODALITIES],
    *[("eventCodeList", code, "SRT", name) for code, name in (
        ("R-FAB55", "Chest and Abdomen"), ("T-D3000", "Chest"), ("T-D1100", "Head"),
        ("T-D4000", "Abdomen"), ("T-D6000", "Pelvis"))],
]


def add_codes(apps, schema_editor):
    CodeValue = apps.get_model("registry", "CodeValue")
    for kind, code, scheme, name in CODES:
        CodeValue.objects.get_or_create(kind=kind, code=code, scheme=scheme,
                                        defaults={"display_name": name})


def remove_codes(apps, schema_editor):
    CodeValue = apps.get_model("registry", "CodeValue")
    for kind, code, scheme, _name in CODES:
        CodeValue.objects.filter(kind=kind, code=code, scheme=scheme).delete()


class Migration(migrations.Migration):

    dependencies = [("registry", "0002_demo_value_sets")]

    operations = [migrations.RunPython(add_codes, remove_codes)]
