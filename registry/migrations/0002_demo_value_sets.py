"""The demo affinity domain's value sets: the codes of the NIST XDS test metadata and of XDS-I.b.

ITI TF-3 4.2.3.2: the affinity domain defines the codes of classCode, typeCode, ... Operators
edit them in the admin; a real deployment replaces these with its own.
"""

from django.db import migrations

LOINC = "2.16.840.1.113883.6.1"
SNOMED = "2.16.840.1.113883.6.96"
CONFIDENTIALITY = "2.16.840.1.113883.5.25"
IHE_FORMATS = "1.3.6.1.4.1.19376.1.2.3"
IHE_CLASSES = "1.3.6.1.4.1.19376.1.2.6.1"
CONNECTATHON = "1.3.6.1.4.1.21367.2017.3"
DICOM_UIDS = "1.2.840.10008.2.6.1"
DCM = "1.2.840.10008.2.16.4"

CODES = [
    # The NIST XDS testkit (tests 11990-12004, 12084, 12346, ...).
    ("classCode", "57016-8", LOINC, "Privacy Policy Acknowledgement Document"),
    ("classCode", "DEMO-Ext Summary", "1.3.6.1.4.1.21367.100.1", "Summary for External / Non Clinical Use"),
    ("classCode", "History and Physical", "Connect-a-thon classCodes", "History and Physical"),
    *[("classCode", code, IHE_CLASSES, name) for code, name in (
        ("DISPENSATIONS", "Dispensations"), ("HEALTH", "Health Certificates and Notifications"),
        ("IMAGES", "Images"), ("PLANS", "Treatment Plan or Protocol"), ("REPORTS", "Reports"),
        ("SUMMARIES", "Summaries"), ("WORKFLOWS", "Workflow Management"))],
    ("codeList", "Referrals", CONNECTATHON, "Referrals"),
    ("confidentialityCode", "1.3.6.1.4.1.21367.2006.7.101", "Connect-a-thon confidentialityCodes",
     "Clinical-Staff"),
    ("confidentialityCode", "N", CONFIDENTIALITY, "Normal"),
    ("confidentialityCode", "R", CONFIDENTIALITY, "Restricted"),
    ("confidentialityCode", "V", CONFIDENTIALITY, "Very restricted"),
    ("contentTypeCode", "225728007", SNOMED, "Accident and Emergency department"),
    ("contentTypeCode", "264372000", SNOMED, "Pharmacy"),
    ("contentTypeCode", "34133-9", LOINC, "Summary of Episode Note"),
    ("contentTypeCode", "394747008", SNOMED, "Health Authority"),
    ("contentTypeCode", "44860005", SNOMED, "Free-standing rehabilitation clinic"),
    ("contentTypeCode", "History and Physical", "Connect-a-thon contentTypeCodes", "History and Physical"),
    ("eventCodeList", "MPQ-eventcode-1", CONNECTATHON, "MPQ-eventcode-1"),
    ("eventCodeList", "urn:connectathon:bppc:foundational:policy", CONNECTATHON,
     "Foundational Connectathon Read-Access Policy"),
    ("eventCodeList", "urn:connectathon:policy:deny-access", CONNECTATHON, "DENY ACCESS TO ALL POLICY"),
    ("eventCodeList", "urn:connectathon:policy:full-access", CONNECTATHON, "FULL ACCESS TO ALL POLICY"),
    ("formatCode", "CDAR2/IHE 1.0", "Connect-a-thon formatCodes", "CDAR2/IHE 1.0"),
    ("formatCode", "urn:ihe:iti:bppc:2007", IHE_FORMATS, "Basic Patient Privacy Consents"),
    ("formatCode", "urn:ihe:pcc:aps:2007", IHE_FORMATS, "IHE Antepartum Summary"),
    ("formatCode", "urn:ihe:pcc:xds-ms:2007", IHE_FORMATS, "XDS Medical Summary"),
    ("formatCode", "urn:ihe:pcc:xphr:2007", IHE_FORMATS, "HL7 CCD Document"),
    ("formatCode", "urn:ihe:rad:TEXT", IHE_FORMATS, "Radiology report, text"),
    ("healthcareFacilityTypeCode", "264372000", SNOMED, "Pharmacy"),
    ("healthcareFacilityTypeCode", "419955002", SNOMED, "Residential institution"),
    ("healthcareFacilityTypeCode", "44860005", SNOMED, "Free-standing rehabilitation clinic"),
    ("healthcareFacilityTypeCode", "66280005", SNOMED, "Private home-based care"),
    ("healthcareFacilityTypeCode", "Outpatient", "Connect-a-thon healthcareFacilityTypeCodes", "Outpatient"),
    ("practiceSettingCode", "309927009", SNOMED, "General medical department"),
    ("practiceSettingCode", "General Medicine", "Connect-a-thon practiceSettingCodes", "General Medicine"),
    ("practiceSettingCode", "Practice-C", CONNECTATHON, "Laboratory"),
    ("practiceSettingCode", "Practice-D", CONNECTATHON, "Pathology"),
    ("practiceSettingCode", "Practice-G", CONNECTATHON, "General Medicine"),
    ("typeCode", "11369-6", LOINC, "Immunization"),
    ("typeCode", "11502-2", LOINC, "Laboratory report.total"),
    ("typeCode", "11506-3", LOINC, "Progress note"),
    ("typeCode", "34108-1", "LOINC", "Outpatient Evaluation And Management"),
    ("typeCode", "XTHM-WD TYPECODE", "1.3.6.1.4.1.21367.100.1", "XTHM-WD TYPECODE"),
    # XDS-I.b (RAD TF-3 4.68.4.1.2.3): the KOS manifest and the imaging codes around it.
    ("formatCode", "1.2.840.10008.5.1.4.1.1.88.59", DICOM_UIDS, "Key Object Selection Document"),
    ("typeCode", "18748-4", LOINC, "Diagnostic imaging study"),
    ("typeCode", "55113-5", LOINC, "Key images Document Radiology"),
    ("healthcareFacilityTypeCode", "22232009", SNOMED, "Hospital"),
    ("practiceSettingCode", "394914008", SNOMED, "Radiology"),
    ("contentTypeCode", "18748-4", LOINC, "Diagnostic imaging study"),
    *[("eventCodeList", code, DCM, name) for code, name in (
        ("CR", "Computed Radiography"), ("CT", "Computed Tomography"), ("DX", "Digital Radiography"),
        ("MG", "Mammography"), ("MR", "Magnetic Resonance"), ("NM", "Nuclear Medicine"),
        ("PT", "Positron emission tomography"), ("RF", "Radio Fluoroscopy"), ("US", "Ultrasound"),
        ("XA", "X-Ray Angiography"), ("OT", "Other"), ("KO", "Key Object Selection"))],
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

    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(add_codes, remove_codes)]
