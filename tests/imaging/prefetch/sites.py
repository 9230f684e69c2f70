"""Hospital A and hospital B as the prior-finding tests see them: their PACSs (real Orthancs on
loopback), their DICOM nodes, a patient both know (linked by ITI-8 feeds), and hospital A's
studies published by RAD-68 (a KOS manifest stored and registered through the repository).

Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from empi import services as empi
from empi.matching.record import demographics
from imaging.models import DicomNode
from organisations.models import AssigningAuthority, Organisation
from organisations.services import demo_bootstrap
from registry import models as registry
from registry.ebrim.read import read_submission
from repository import services as repository
from repository import store
from repository.inspection import documents_inspect
from tests.imaging.dicom.datasets import ct_image, part10_bytes
from tests.imaging.kos_factory import kos_build
from tests.registry import submissions
from tests.repository.provide import set_slot, sha1
from tests.servers.orthanc import OrthancServer, start_orthanc

AFFINITY_CX4 = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"
HOSPA_OID = "1.3.6.1.4.1.21367.13.20.1000"
HOSPB_OID = "1.3.6.1.4.1.21367.13.20.2000"
PACS_A_LOCATION = f"{HOSPA_OID}.5"
STUDY_UID_TYPE = "urn:ihe:iti:xds:2016:studyInstanceUID"
EVENT_CODE_LIST = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"


@dataclass
class SitePacs:
    a: OrthancServer
    b: OrthancServer


@pytest.fixture(scope="session")
def site_pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SitePacs]:
    """Hospital A's and hospital B's PACSs, answering the node's C-FINDs."""
    node = {"HIENODE": (settings.DICOM_AE_TITLE, "127.0.0.1", 104)}
    allow: dict[str, object] = {"DicomAlwaysAllowFind": True}
    a = start_orthanc(tmp_path_factory.mktemp("priors-pacs-a"), ae_title="HOSPA_PACS",
                      modalities=node, extra_config=allow)
    b = start_orthanc(tmp_path_factory.mktemp("priors-pacs-b"), ae_title="HOSPB_PACS",
                      modalities=node, extra_config=allow)
    yield SitePacs(a=a, b=b)
    a.stop()
    b.stop()


@dataclass
class Sites:
    affinity: AssigningAuthority
    a_mrns: AssigningAuthority
    b_mrns: AssigningAuthority
    hospital_a: Organisation
    hospital_b: Organisation
    a_pacs: DicomNode  # a query/retrieve source
    b_pacs: DicomNode  # hospital B's PACS, where B's priors go; a source too


@pytest.fixture
def sites(db: None, site_pacs: SitePacs, settings: Any, tmp_path: Path) -> Iterator[Sites]:
    """The demo affinity domain, with each hospital's PACS configured as a DICOM node."""
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    settings.DOCUMENT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                 "OPTIONS": {"location": str(tmp_path / "documents")}}
    store.document_storage.cache_clear()
    a_mrns = AssigningAuthority.objects.get(universal_id=HOSPA_OID)
    b_mrns = AssigningAuthority.objects.get(universal_id=HOSPB_OID)
    hospital_a, hospital_b = cast(Organisation, a_mrns.organisation), cast(Organisation, b_mrns.organisation)
    yield Sites(
        affinity=AssigningAuthority.objects.get(is_affinity_domain=True), a_mrns=a_mrns, b_mrns=b_mrns,
        hospital_a=hospital_a, hospital_b=hospital_b,
        a_pacs=DicomNode.objects.create(
            organisation=hospital_a, ae_title="HOSPA_PACS", host="127.0.0.1",
            port=site_pacs.a.dicom_port, retrieve_location_uid=PACS_A_LOCATION),
        b_pacs=DicomNode.objects.create(
            organisation=hospital_b, ae_title="HOSPB_PACS", host="127.0.0.1",
            port=site_pacs.b.dicom_port, is_destination=True))
    store.document_storage.cache_clear()


@dataclass(frozen=True)
class Patient:
    """One woman known at both hospitals, under fresh MRNs (the PACSs outlive each test)."""

    a_mrn: str
    b_mrn: str
    enterprise_id: str


def patient_at_a_and_b(sites: Sites) -> Patient:
    """Hospital A's and then hospital B's ADT^A04 (ITI-8): the EMPI links the two MRNs."""
    serial = uuid.uuid4().hex[:8].upper()
    jane = demographics(given="Jane", family=f"Doe{serial}", birth_date="19700101", sex="F",
                        postcode="12345", street="1 Main Street", city="Springfield")
    at_a = empi.patient_feed(identifiers=[(sites.a_mrns, f"A{serial}")], demographics=jane, raw={},
                             source="HOSPA_ADT|HOSPA")
    at_b = empi.patient_feed(identifiers=[(sites.b_mrns, f"B{serial}")], demographics=jane, raw={},
                             source="HOSPB_ADT|HOSPB")
    assert at_a[0].person == at_b[0].person, "the EMPI did not link the two feeds"
    return Patient(a_mrn=f"A{serial}", b_mrn=f"B{serial}", enterprise_id=at_a[0].person.enterprise_id)


def a_study(mrn: str, *, issuer: str = "HOSPA", count: int = 2, study_date: str = "20240102",
            modality: str = "CT", body_part: str = "CHEST", description: str = "CT CHEST") -> list[Dataset]:
    """One series of `count` instances of a new study of the patient `mrn`."""
    study_uid, series_uid = generate_uid(), generate_uid()
    slices = []
    for number in range(1, count + 1):
        ds = ct_image()
        ds.PatientID, ds.IssuerOfPatientID = mrn, issuer
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study_uid, series_uid, number
        ds.StudyDate, ds.Modality, ds.StudyDescription = study_date, modality, description
        ds.AccessionNumber = f"ACC{number}{study_uid[-6:]}"
        if body_part:
            ds.BodyPartExamined = body_part
        slices.append(ds)
    return slices


def upload(server: OrthancServer, study: Sequence[Dataset]) -> None:
    """The study stored in the PACS through its REST API."""
    with server.rest() as rest:
        for ds in study:
            answer = rest.post("/instances", content=part10_bytes(ds))
            assert answer.status_code == 200, answer.text


def publish(sites: Sites, patient: Patient, study: Sequence[Dataset], tmp_path: Path) -> str:
    """Hospital A's imaging document source publishes the study by RAD-68: its KOS manifest
    stored and registered under the enterprise ID, its references indexed. The entryUUID."""
    first = study[0]
    study_uid, study_date = str(first.StudyInstanceUID), str(first.StudyDate)
    manifest = kos_build(
        patient_id=patient.a_mrn, issuer=HOSPA_OID, study_date=study_date,
        study_description=str(first.StudyDescription), studies=[(study_uid, "", [
            (str(first.SeriesInstanceUID), str(first.Modality), "HOSPA_PACS", PACS_A_LOCATION,
             [(str(ds.SOPClassUID), str(ds.SOPInstanceUID)) for ds in study])])])
    root = submissions.kos_submission(patient_id=patient.enterprise_id)
    for name, value in (("sourcePatientId", f"{patient.a_mrn}^^^&{HOSPA_OID}&ISO"),
                        ("urn:ihe:iti:xds:2013:referenceIdList", f"{study_uid}^^^^{STUDY_UID_TYPE}"),
                        ("serviceStartTime", f"{study_date}0930"), ("hash", sha1(manifest)),
                        ("size", str(len(manifest))),
                        ("repositoryUniqueId", settings.REPOSITORY_UNIQUE_ID)):
        set_slot(root, "Document01", name, value)
    # RAD TF-3 4.68.4.1.2.3.2: eventCodeList carries the study's modality.
    for code in submissions.document(root).iterfind(f"{submissions.R}Classification"):
        if code.get("classificationScheme") == EVENT_CODE_LIST:
            code.set("nodeRepresentation", str(first.Modality))
    path = tmp_path / f"{uuid.uuid4().hex}.dcm"
    path.write_bytes(manifest)
    submission = read_submission(root)
    inspections = documents_inspect([(entry, path) for entry in submission.documents])
    repository.document_set_provide(
        submission=submission, inspections=inspections, transaction_name="RAD-68",
        source="HOSPA_XDSI|HOSPA",
        contents={"Document01": repository.Content(open=lambda: io.BytesIO(manifest),
                                                   size=len(manifest), sha1=sha1(manifest))})
    return registry.DocumentEntry.objects.get(unique_id=submission.documents[0].unique_id).entry_uuid
