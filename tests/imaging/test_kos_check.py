"""A KOS manifest against its DocumentEntry: RAD TF-3 4.68.4.1.2.3's rules, one mismatch at a time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydicom.uid import CTImageStorage, MRImageStorage

from imaging.kos.check import REPOSITORY_METADATA_ERROR, manifest_check
from imaging.kos.manifest import Manifest
from imaging.kos.read import manifest_read
from registry.errors import RegistryError
from registry.metadata import Code, DocumentEntry
from tests.imaging.kos_factory import kos_build
from tests.imaging.test_kos_read import NIST_KOS

HOSPA_OID = "1.3.6.1.4.1.21367.13.20.1000"
DOMAIN = "&1.3.6.1.4.1.21367.2005.3.7&ISO"
STUDY = "^^^^urn:ihe:iti:xds:2016:studyInstanceUID"
ACCESSION = f"^^^&{HOSPA_OID}&ISO^urn:ihe:iti:xds:2013:accession"
KOS_FORMAT = Code("1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1")
CT = Code("CT", "DCM", "Computed Tomography")
MR = Code("MR", "DCM", "Magnetic Resonance")
CHEST = Code("T-D3000", "SRT", "Chest")


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    """Hospital A's CT and MR studies of Jane Doe (MRN A123), in one manifest."""
    path = tmp_path / "kos.dcm"
    path.write_bytes(kos_build(patient_id="A123", issuer=HOSPA_OID, studies=[
        ("1.2.3.1", "ACC0001", [("1.2.3.1.1", "CT", "HOSPA_PACS", "", [(CTImageStorage, "1.2.3.1.1.1")])]),
        ("1.2.3.2", "ACC0002", [("1.2.3.2.1", "MR", "HOSPA_PACS", "", [(MRImageStorage, "1.2.3.2.1.1")])]),
    ]))
    return manifest_read(path)


def an_entry(**changes: object) -> DocumentEntry:
    entry = DocumentEntry(
        entry_uuid="urn:uuid:6c1ec7e6-8a4b-4a43-9d4e-2b1c1f0a0001",
        mime_type="application/dicom", format_code=KOS_FORMAT,
        patient_id=f"E0001^^^{DOMAIN}", source_patient_id=f"A123^^^&{HOSPA_OID}&ISO",
        event_code_list=[CT, MR, CHEST],
        reference_id_list=[f"1.2.3.1{STUDY}", f"1.2.3.2{STUDY}",
                           f"ACC0001{ACCESSION}", f"ACC0002{ACCESSION}"],
    )
    return replace(entry, **changes)  # type: ignore[arg-type]


def only_error(errors: list[RegistryError], attribute: str) -> RegistryError:
    assert len(errors) == 1, errors
    (error,) = errors
    assert error.code == REPOSITORY_METADATA_ERROR
    assert error.location == f"DocumentEntry urn:uuid:6c1ec7e6-8a4b-4a43-9d4e-2b1c1f0a0001 {attribute}"
    return error


def test_a_consistent_entry_passes(manifest: Manifest) -> None:
    assert manifest_check(manifest=manifest, entry=an_entry()) == []


def test_the_nist_manifest_passes_with_its_own_metadata() -> None:
    # testdata/IDCDEPT001/metadata.xml: no referenceIdList, a sourcePatientId without a KOS issuer.
    entry = an_entry(patient_id="IDCAD001-a^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO",
                     source_patient_id="IDCDEPT001-a^^^&1.3.6.1.4.1.21367.1800.13.20.1000&ISO",
                     event_code_list=[CT, Code("R-FAB55", "SRT")], reference_id_list=[])

    assert manifest_check(manifest=manifest_read(NIST_KOS), entry=entry) == []


def test_another_patients_id_is_refused_without_naming_either(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(
        source_patient_id=f"A999^^^&{HOSPA_OID}&ISO", patient_id=f"E0002^^^{DOMAIN}")), "sourcePatientId")

    assert "A123" not in error.context and "A999" not in error.context


def test_the_same_id_from_another_authority_is_refused(manifest: Manifest) -> None:
    only_error(manifest_check(manifest=manifest, entry=an_entry(
        source_patient_id="A123^^^&1.3.6.1.4.1.21367.13.20.2000&ISO")), "sourcePatientId")


def test_a_manifest_carrying_the_affinity_domain_id_matches_the_patient_id(manifest: Manifest) -> None:
    domain_manifest = replace(manifest, patient=replace(manifest.patient, patient_id="E0001",
                                                         issuer_of_patient_id="", universal_entity_id=""))

    assert manifest_check(manifest=domain_manifest, entry=an_entry()) == []


def test_a_study_missing_from_the_reference_id_list_is_refused(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(
        reference_id_list=[f"1.2.3.1{STUDY}"])), "referenceIdList")

    assert "1.2.3.2" in error.context


def test_an_extra_study_in_the_reference_id_list_is_refused(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(
        reference_id_list=[f"1.2.3.1{STUDY}", f"1.2.3.2{STUDY}", f"1.2.3.3{STUDY}"])), "referenceIdList")

    assert "1.2.3.3" in error.context


def test_an_accession_missing_from_a_listed_set_is_refused(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(
        reference_id_list=[f"1.2.3.1{STUDY}", f"1.2.3.2{STUDY}", f"ACC0001{ACCESSION}"])), "referenceIdList")

    assert "ACC0002" in error.context


def test_an_accession_of_another_authority_is_refused(manifest: Manifest) -> None:
    other = "^^^&1.3.6.1.4.1.21367.13.20.2000&ISO^urn:ihe:iti:xds:2013:accession"
    manifest = replace(manifest, studies=tuple(
        replace(s, accession=replace(s.accession, issuer_oid=HOSPA_OID)) if s.accession else s
        for s in manifest.studies))

    errors = manifest_check(manifest=manifest, entry=an_entry(reference_id_list=[
        f"1.2.3.1{STUDY}", f"1.2.3.2{STUDY}", f"ACC0001{other}", f"ACC0002{ACCESSION}"]))

    assert "ACC0001" in only_error(errors, "referenceIdList").context


def test_a_reference_id_that_is_not_a_cxi_is_refused(manifest: Manifest) -> None:
    only_error(manifest_check(manifest=manifest, entry=an_entry(
        reference_id_list=[f"1.2.3.1{STUDY}", f"1.2.3.2{STUDY}", "1.2.3.3"])), "referenceIdList")


def test_a_wrong_format_code_is_refused(manifest: Manifest) -> None:
    only_error(manifest_check(manifest=manifest, entry=an_entry(
        format_code=Code("urn:ihe:rad:PDF", "1.3.6.1.4.1.19376.1.2.3"))), "formatCode")


def test_the_kos_format_code_in_a_wrong_scheme_is_refused(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(
        format_code=Code(KOS_FORMAT.code, "1.2.840.10008.2.16.4"))), "formatCode")

    assert "codingScheme" in error.context


def test_a_missing_format_code_is_refused(manifest: Manifest) -> None:
    only_error(manifest_check(manifest=manifest, entry=an_entry(format_code=None)), "formatCode")


def test_a_wrong_mime_type_is_refused(manifest: Manifest) -> None:
    only_error(manifest_check(manifest=manifest, entry=an_entry(mime_type="application/pdf")), "mimeType")


def test_a_modality_not_in_the_manifest_is_refused(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(
        event_code_list=[CT, MR, Code("US", "DCM"), CHEST])), "eventCodeList")

    assert "US" in error.context


def test_a_modality_of_the_manifest_missing_from_the_event_codes_is_refused(manifest: Manifest) -> None:
    error = only_error(manifest_check(manifest=manifest, entry=an_entry(event_code_list=[CT, CHEST])),
                       "eventCodeList")

    assert "MR" in error.context


def test_modalities_are_not_checked_when_the_manifest_has_none(manifest: Manifest) -> None:
    bare = replace(manifest, studies=tuple(
        replace(study, series=tuple(replace(s, modality="") for s in study.series))
        for study in manifest.studies))

    assert manifest_check(manifest=bare, entry=an_entry(event_code_list=[Code("US", "DCM")])) == []


def test_every_mismatch_is_reported_at_once(manifest: Manifest) -> None:
    errors = manifest_check(manifest=manifest, entry=an_entry(
        mime_type="text/xml", format_code=None, source_patient_id="", patient_id="",
        reference_id_list=[f"9.9{STUDY}"], event_code_list=[]))

    assert {e.location.rsplit(" ", 1)[1] for e in errors} == {
        "mimeType", "formatCode", "sourcePatientId", "referenceIdList", "eventCodeList"}
