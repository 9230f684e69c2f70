"""The radiologist's pages in a real browser: Debian's Chromium driven by Playwright against the
node's own web process and worker, with hospital A's and hospital B's PACSs as real Orthancs.

Each step of a test saves a screenshot into PRIORS_SCREENSHOT_DIR (pytest's tmp_path without it),
and a failing test saves the page as it was when it failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from empi import services as empi
from empi.matching.record import demographics
from empi.models import PatientRecord
from imaging.models import DicomNode
from organisations.models import AssigningAuthority, Organisation
from organisations.services import demo_bootstrap, member_save
from tests import browser
from tests.imaging.dicom.datasets import ct_image, part10_bytes
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer, start_orthanc
from tests.servers.process import free_port

AFFINITY_CX4 = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"
HOSPA_OID = "1.3.6.1.4.1.21367.13.20.1000"
HOSPB_OID = "1.3.6.1.4.1.21367.13.20.2000"
PASSWORD = "correct horse battery staple"

# The browser, shared with the console's tests (tests/browser.py).
pytest_runtest_makereport = browser.pytest_runtest_makereport
chromium, page, screenshots, go = browser.chromium, browser.page, browser.screenshots, browser.go


@dataclass
class Pacs:
    a: OrthancServer
    b: OrthancServer


@pytest.fixture(scope="session")
def web_pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pacs]:
    """Hospital A's PACS, which moves studies to hospital B's; both answer anyone's C-FIND."""
    a_ports, b_ports = (free_port(), free_port()), (free_port(), free_port())
    allow: dict[str, object] = {"DicomAlwaysAllowFind": True, "DicomAlwaysAllowMove": True}
    b = start_orthanc(tmp_path_factory.mktemp("web-pacs-b"), ae_title="HOSPB_PACS", ports=b_ports,
                      extra_config=allow)
    a = start_orthanc(tmp_path_factory.mktemp("web-pacs-a"), ae_title="HOSPA_PACS", ports=a_ports,
                      modalities={"HOSPB": ("HOSPB_PACS", "127.0.0.1", b_ports[1])}, extra_config=allow)
    yield Pacs(a=a, b=b)
    a.stop()
    b.stop()


@pytest.fixture
def shot(screenshots: Path) -> Callable[[Any, str], Path]:
    return browser.shooter(screenshots, "priors")


@dataclass
class Exchange:
    hospital_a: Organisation
    hospital_b: Organisation
    a_mrns: AssigningAuthority
    b_mrns: AssigningAuthority
    a_pacs: DicomNode
    b_pacs: DicomNode
    url: str  # the node's web process
    pacs: Pacs


@pytest.fixture
def exchange(node: Node, web_pacs: Pacs) -> Exchange:
    """The demo affinity domain with each hospital's PACS, and the node's web process and worker."""
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    a_mrns = AssigningAuthority.objects.get(universal_id=HOSPA_OID)
    b_mrns = AssigningAuthority.objects.get(universal_id=HOSPB_OID)
    hospital_a, hospital_b = cast(Organisation, a_mrns.organisation), cast(Organisation, b_mrns.organisation)
    a_pacs = DicomNode.objects.create(organisation=hospital_a, ae_title="HOSPA_PACS", host="127.0.0.1",
                                      port=web_pacs.a.dicom_port, retrieve_method=DicomNode.RETRIEVE_C_MOVE)
    b_pacs = DicomNode.objects.create(organisation=hospital_b, ae_title="HOSPB_PACS", host="127.0.0.1",
                                      port=web_pacs.b.dicom_port, is_source=False, is_destination=True)
    node.start("web", "worker")
    return Exchange(hospital_a, hospital_b, a_mrns, b_mrns, a_pacs, b_pacs, node.url, web_pacs)


@pytest.fixture
def radiologist(exchange: Exchange) -> User:
    """Rita, a radiologist at hospital B."""
    user = User.objects.create_user("rita", password=PASSWORD, first_name="Rita", last_name="Reader")
    member_save(user=user, organisation=exchange.hospital_b)
    return user


@dataclass(frozen=True)
class Patient:
    """A woman known at hospital A and hospital B, under fresh MRNs (the PACSs outlive each test)."""

    family: str
    a_mrn: str
    b_mrn: str


def patient_at_a_and_b(exchange: Exchange) -> Patient:
    """Hospital A's and hospital B's ADT^A04 (ITI-8), which the EMPI links."""
    serial = uuid.uuid4().hex[:6].upper()
    family = "Doe"  # each test starts from an empty database; only the PACSs remember MRNs
    jane = demographics(given="Jane", family=family, birth_date="19700101", sex="F",
                        postcode="12345", street="1 Main Street", city="Springfield")
    at_a = empi.patient_feed(identifiers=[(exchange.a_mrns, f"A{serial}")], demographics=jane, raw={},
                             source="HOSPA_ADT|HOSPA")
    at_b = empi.patient_feed(identifiers=[(exchange.b_mrns, f"B{serial}")], demographics=jane, raw={},
                             source="HOSPB_ADT|HOSPB")
    assert at_a[0].person == at_b[0].person, "the EMPI did not link the two feeds"
    return Patient(family=family, a_mrn=f"A{serial}", b_mrn=f"B{serial}")


def a_study(mrn: str, *, count: int, study_date: str, modality: str, body_part: str,
            description: str, megabytes: int = 0) -> list[Dataset]:
    """One series of `count` instances of a new study of hospital A's patient `mrn`."""
    study_uid, series_uid = generate_uid(), generate_uid()
    slices = []
    for number in range(1, count + 1):
        ds = ct_image(megabytes=megabytes)
        ds.PatientID, ds.IssuerOfPatientID = mrn, "HOSPA"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study_uid, series_uid, number
        ds.StudyDate, ds.Modality, ds.StudyDescription = study_date, modality, description
        ds.BodyPartExamined = body_part
        ds.AccessionNumber = f"ACC{study_uid[-8:]}"
        slices.append(ds)
    return slices


def upload(server: OrthancServer, study: list[Dataset]) -> None:
    with server.rest() as rest:
        for ds in study:
            answer = rest.post("/instances", content=part10_bytes(ds))
            assert answer.status_code == 200, answer.text


def forget(server: OrthancServer, study: list[Dataset]) -> None:
    """The PACS deletes the study (its Orthanc ID found by the Study Instance UID)."""
    with server.rest() as rest:
        found = rest.post("/tools/lookup", content=str(study[0].StudyInstanceUID))
        found.raise_for_status()
        for hit in found.json():
            if hit["Type"] == "Study":
                rest.delete(f"/studies/{hit['ID']}").raise_for_status()


def patient_url(exchange: Exchange, authority: AssigningAuthority, mrn: str) -> str:
    """The patient page names the record, never the MRN."""
    record = PatientRecord.objects.get(authority=authority, identifier=mrn)
    return f"{exchange.url}/priors/patients/{record.pk}/"


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/priors/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    go(page, "button[type=submit]")
