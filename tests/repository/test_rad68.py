"""RAD-68 through the real web process: an imaging document source publishes a study by its KOS
manifest; the repository checks the manifest against its metadata and indexes its references."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from imaging.models import ManifestInstance, ManifestSeries, ManifestStudy
from registry import models, services
from registry.ebrim.namespaces import FAILURE, SUCCESS
from repository.models import Document
from tests.conftest import needs_node
from tests.imaging.kos_factory import kos_build
from tests.registry import submissions
from tests.registry.submissions import R
from tests.repository.provide import errors_of, post, provide_request, stored_keys

pytestmark = needs_node
TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "nist-testkit" / "testdata" / "IDCDEPT001"
NIST_STUDY = "1.3.6.1.4.1.21367.201599.1.201604021948007"
NIST_SERIES = "1.3.6.1.4.1.21367.201599.2.201604021948008"
PATIENT = f"IDCAD001-a^^^&{submissions.AFFINITY}&ISO"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture(autouse=True)
def patient(db: None) -> None:
    services.patient_identity_register(patient_id=PATIENT)


def nist_submission() -> etree._Element:
    """The NIST testkit's XDS-I.b submission of IDCDEPT001, with fresh uniqueIds and the patient
    in this affinity domain (the testkit's toolkit does the same substitutions)."""
    root = etree.parse(str(TESTDATA / "metadata.xml")).getroot()
    for identifier in root.iter(R + "ExternalIdentifier"):
        scheme = identifier.get("identificationScheme")
        if scheme in (submissions.DOCUMENT_PATIENT_ID, submissions.SET_PATIENT_ID):
            identifier.set("value", PATIENT)
        elif scheme in (submissions.DOCUMENT_UNIQUE_ID, submissions.SET_UNIQUE_ID):
            identifier.set("value", submissions.fresh_oid())
    return root


def unique_id_of(root: etree._Element) -> str:
    for identifier in root.iter(R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == submissions.DOCUMENT_UNIQUE_ID:
            return identifier.get("value", "")
    raise AssertionError("no DocumentEntry uniqueId")


def nothing_kept(root: etree._Element) -> None:
    unique_id = unique_id_of(root)
    assert not models.DocumentEntry.objects.filter(unique_id=unique_id).exists()
    assert not Document.objects.filter(unique_id=unique_id).exists()
    assert not ManifestStudy.objects.exists()
    assert stored_keys() == []
    assert AuditEvent.objects.filter(transaction="RAD-68", outcome=8).exists()


def test_the_nist_kos_manifest_is_stored_registered_and_indexed(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = nist_submission()
    manifest = (TESTDATA / "kos.dcm").read_bytes()

    answer = post(client, provide_request(root, {"Document01": manifest}), rs_schema)

    assert answer.get("status") == SUCCESS, errors_of(answer)
    entry = models.DocumentEntry.objects.get(unique_id=unique_id_of(root))
    assert Document.objects.get(unique_id=entry.unique_id).size == len(manifest)
    study = ManifestStudy.objects.get(study_instance_uid=NIST_STUDY)
    assert (study.document_entry_uuid, study.patient_id) == (entry.entry_uuid, PATIENT)
    series = ManifestSeries.objects.get(study=study)
    assert (series.series_instance_uid, series.retrieve_ae_title) == (NIST_SERIES, "DCM4CHEE")
    assert ManifestInstance.objects.filter(series=series).count() == 1
    # RAD TF-3 4.68.5: the repository audits the RAD-68 it received, not an ITI-41.
    assert AuditEvent.objects.filter(transaction="RAD-68", outcome=0, event_id="110107").exists()
    assert not AuditEvent.objects.filter(transaction="ITI-42").exists()


def test_a_manifest_of_another_patient_is_refused_and_nothing_is_kept(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = nist_submission()
    manifest = kos_build(patient_id="SOMEONE-ELSE", studies=[
        (NIST_STUDY, "IDC001-a", [(NIST_SERIES, "CT", "HOSPA_PACS", "", [(CT_IMAGE, "1.2.3.4.5.6")])])])

    answer = post(client, provide_request(root, {"Document01": manifest}), rs_schema)

    assert answer.get("status") == FAILURE
    assert ("XDSRepositoryMetadataError", "DocumentEntry Document01 sourcePatientId") in errors_of(answer)
    nothing_kept(root)


def test_a_body_labelled_application_dicom_that_is_not_dicom_is_refused(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = nist_submission()

    answer = post(client, provide_request(root, {"Document01": b"%PDF-1.7 not a manifest"}), rs_schema)

    assert answer.get("status") == FAILURE
    assert errors_of(answer) == [("XDSRepositoryMetadataError", "DocumentEntry Document01 mimeType")]
    nothing_kept(root)


def test_a_manifest_whose_study_is_not_in_the_reference_id_list_is_refused(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    root = nist_submission()
    document = root.find(f"{R}RegistryObjectList/{R}ExtrinsicObject")
    assert document is not None
    listed = etree.SubElement(document, R + "Slot", name="urn:ihe:iti:xds:2013:referenceIdList")
    values = etree.SubElement(listed, R + "ValueList")
    etree.SubElement(values, R + "Value").text = "1.2.3.999^^^^urn:ihe:iti:xds:2016:studyInstanceUID"
    # Slots come before the other children (rim.xsd): move it up among them.
    document.remove(listed)
    document.insert(0, copy.deepcopy(listed))

    answer = post(client, provide_request(root, {"Document01": (TESTDATA / "kos.dcm").read_bytes()}),
                  rs_schema)

    assert answer.get("status") == FAILURE
    assert {code for code, _ in errors_of(answer)} == {"XDSRepositoryMetadataError"}
    assert {loc for _, loc in errors_of(answer)} == {"DocumentEntry Document01 referenceIdList"}
    nothing_kept(root)
