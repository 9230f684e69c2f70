"""The XDS-I.b round trip through the real web process: hospital A publishes a study its PACS (a
real Orthanc) holds by a KOS manifest built from it (RAD-68); hospital B retrieves the study
through the node (RAD-69) and gets every instance as the PACS holds it."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import httpx
import pytest
from lxml import etree
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from imaging.models import DicomNode, ManifestInstance
from organisations.services import organisation_create
from registry.ebrim.namespaces import SUCCESS
from registry.ebrim.read import set_slot
from tests.conftest import needs_node
from tests.imaging.kos_factory import kos_build
from tests.imaging.test_rad69 import request_xml, retrieve
from tests.imaging.test_rad69 import schema as xdsb_schema  # noqa: F401  (a fixture)
from tests.imaging.test_retrieve import a_study, data_set_bytes, upload
from tests.registry.submissions import R
from tests.repository.provide import errors_of, post, provide_request
from tests.repository.test_rad68 import PATIENT, nist_submission
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer

pytestmark = needs_node
HOSPITAL_A = "1.3.6.1.4.1.21367.13.20.1000"
PACS_LOCATION = f"{HOSPITAL_A}.9.1"


@pytest.fixture(autouse=True)
def patient(db: None) -> None:
    from registry import services

    services.patient_identity_register(patient_id=PATIENT)


def test_a_study_published_by_rad68_comes_back_by_rad69_byte_for_byte(
        web: Node, client: httpx.Client, rs_schema: etree.XMLSchema, xdsb_schema: etree.XMLSchema,  # noqa: F811
        orthanc: OrthancServer, tmp_path: Path) -> None:
    study = a_study(5, implicit=2)
    held = upload(orthanc, study)
    DicomNode.objects.create(organisation=organisation_create(code="hospa", name="Hospital A"),
                             ae_title=orthanc.ae_title, host="127.0.0.1", port=orthanc.dicom_port,
                             retrieve_location_uid=PACS_LOCATION)
    study_uid, series_uid = str(study[0].StudyInstanceUID), str(study[0].SeriesInstanceUID)
    manifest = kos_build(patient_id="A123", issuer=HOSPITAL_A, studies=[(study_uid, "ACC0001", [
        (series_uid, "CT", orthanc.ae_title, PACS_LOCATION,
         [(str(ds.SOPClassUID), str(ds.SOPInstanceUID)) for ds in study])])])
    root = nist_submission()
    document = root.find(f"{R}RegistryObjectList/{R}ExtrinsicObject")
    assert document is not None
    set_slot(document, "sourcePatientId", f"A123^^^&{HOSPITAL_A}&ISO")
    set_slot(document, "urn:ihe:iti:xds:2013:referenceIdList",
             f"{study_uid}^^^^urn:ihe:iti:xds:2016:studyInstanceUID")

    published = post(client, provide_request(root, {"Document01": manifest}), rs_schema)
    assert published.get("status") == SUCCESS, errors_of(published)
    assert ManifestInstance.objects.filter(series__series_instance_uid=series_uid).count() == 5

    uids = [str(ds.SOPInstanceUID) for ds in study]
    answer = retrieve(web, xdsb_schema, tmp_path,
                      request_xml(study, uids, [ExplicitVRLittleEndian, ImplicitVRLittleEndian],
                                  repository=PACS_LOCATION))

    assert answer.status == SUCCESS, answer.errors
    assert sorted(answer.documents) == sorted(uids)
    for uid, returned in answer.documents.items():
        assert data_set_bytes(returned) == data_set_bytes(held[uid])
        returned_meta = dcmread(BytesIO(returned), stop_before_pixels=True).file_meta
        held_meta = dcmread(BytesIO(held[uid]), stop_before_pixels=True).file_meta
        assert returned_meta.TransferSyntaxUID == held_meta.TransferSyntaxUID
