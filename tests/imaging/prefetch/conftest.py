"""Hospital A's and hospital B's PACSs (two real Orthancs on loopback, each a move destination
of the other), and the exchange's view of them: the two hospitals, their DICOM nodes, and the
prefetch jobs the tests run."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from imaging.models import DicomNode, ManifestInstance, ManifestSeries, ManifestStudy
from imaging.prefetch import engine, services, tasks
from imaging.prefetch.models import PrefetchJob
from imaging.prefetch.types import PriorStudy
from organisations.models import AssigningAuthority, Organisation
from tests.conftest import ON_POSTGRES
from tests.imaging.dicom.datasets import ct_image, part10_bytes
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer, start_orthanc
from tests.servers.process import free_port

ENTERPRISE_ID = "E100^^^&1.3.6.1.4.1.21367.13.20.3000&ISO"
ALWAYS_ALLOW: dict[str, object] = {"DicomAlwaysAllowFind": True, "DicomAlwaysAllowMove": True}


@dataclass
class Pacs:
    a: OrthancServer
    b: OrthancServer


@pytest.fixture(scope="session")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pacs]:
    """Hospital A's and hospital B's PACSs; A knows B and the node as DICOM modalities."""
    a_ports, b_ports = (free_port(), free_port()), (free_port(), free_port())
    node_ae = settings.DICOM_AE_TITLE
    b = start_orthanc(tmp_path_factory.mktemp("orthanc-b"), ae_title="HOSPB_PACS", ports=b_ports,
                      modalities={"HOSPA": ("HOSPA_PACS", "127.0.0.1", a_ports[1]),
                                  "HIENODE": (node_ae, "127.0.0.1", free_port())},
                      extra_config=ALWAYS_ALLOW)
    a = start_orthanc(tmp_path_factory.mktemp("orthanc-a"), ae_title="HOSPA_PACS", ports=a_ports,
                      modalities={"HOSPB": ("HOSPB_PACS", "127.0.0.1", b_ports[1]),
                                  "HIENODE": (node_ae, "127.0.0.1", free_port())},
                      extra_config=ALWAYS_ALLOW)
    yield Pacs(a=a, b=b)
    a.stop()
    b.stop()


@dataclass
class Exchange:
    hospital_a: Organisation
    hospital_b: Organisation
    b_mrns: AssigningAuthority
    a_pacs: DicomNode
    b_pacs: DicomNode


@pytest.fixture
def exchange(pacs: Pacs) -> Exchange:
    hospital_a = Organisation.objects.create(code="hospa", name="Hospital A")
    hospital_b = Organisation.objects.create(code="hospb", name="Hospital B")
    b_mrns = AssigningAuthority.objects.create(namespace_id="HOSPB", organisation=hospital_b,
                                               universal_id="1.3.6.1.4.1.21367.13.20.2000")
    a_pacs = DicomNode.objects.create(organisation=hospital_a, ae_title="HOSPA_PACS", host="127.0.0.1",
                                      port=pacs.a.dicom_port, retrieve_method=DicomNode.RETRIEVE_C_MOVE)
    b_pacs = DicomNode.objects.create(organisation=hospital_b, ae_title="HOSPB_PACS", host="127.0.0.1",
                                      port=pacs.b.dicom_port, is_source=False, is_destination=True)
    return Exchange(hospital_a, hospital_b, b_mrns, a_pacs, b_pacs)


def a_study(count: int, *, megabytes: int = 0) -> list[Dataset]:
    """A CT series of `count` slices of one study of Jane Doe at hospital A."""
    study_uid, series_uid = generate_uid(), generate_uid()
    slices = []
    for number in range(1, count + 1):
        ds = ct_image(megabytes=megabytes)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study_uid, series_uid, number
        slices.append(ds)
    return slices


def upload(server: OrthancServer, datasets: list[Dataset]) -> dict[str, str]:
    """Store the instances in the PACS; Orthanc's ID of each, by SOP Instance UID."""
    ids = {}
    with server.rest() as rest:
        for ds in datasets:
            answer = rest.post("/instances", content=part10_bytes(ds))
            assert answer.status_code == 200, answer.text
            ids[str(ds.SOPInstanceUID)] = answer.json()["ID"]
    return ids


def held(server: OrthancServer, study_uid: str) -> set[str]:
    """The SOP Instance UIDs of the study the PACS holds, by its REST API."""
    with server.rest() as rest:
        answer = rest.post("/tools/find", json={"Level": "Instance", "Expand": True,
                                                "Query": {"StudyInstanceUID": study_uid}})
        answer.raise_for_status()
        return {i["MainDicomTags"]["SOPInstanceUID"] for i in answer.json()}


def manifest_names(study: list[Dataset]) -> None:
    """The KOS manifest index names each instance of the study (RAD TF-3 4.68.4.1.2.3)."""
    first = study[0]
    row = ManifestStudy.objects.create(
        document_entry_uuid=f"urn:uuid:{uuid.uuid4()}", document_unique_id=generate_uid(),
        repository_unique_id="1.3.6.1.4.1.21367.13.40.1", patient_id=ENTERPRISE_ID,
        study_instance_uid=str(first.StudyInstanceUID), modalities="CT")
    series = ManifestSeries.objects.create(study=row, series_instance_uid=str(first.SeriesInstanceUID),
                                           modality="CT", retrieve_ae_title="HOSPA_PACS")
    ManifestInstance.objects.bulk_create([
        ManifestInstance(series=series, sop_class_uid=str(ds.SOPClassUID),
                         sop_instance_uid=str(ds.SOPInstanceUID)) for ds in study])


def prior(exchange: Exchange, study: list[Dataset], *, instances: int | None = None) -> PriorStudy:
    return PriorStudy(study_instance_uid=str(study[0].StudyInstanceUID), study_date="20240102",
                      modalities=("CT",), description="CT CHEST", body_part="CHEST",
                      site_id=exchange.hospital_a.pk, site_name="Hospital A",
                      source_id=exchange.a_pacs.pk,
                      instances=len(study) if instances is None else instances)


def a_job(exchange: Exchange, *studies: list[Dataset], priority: int = PrefetchJob.ROUTINE,
          destination: DicomNode | None = None) -> PrefetchJob:
    """The radiologist at hospital B asks for Jane's priors (MRN B777)."""
    return services.job_create(
        organisation=exchange.hospital_b, destination=destination or exchange.b_pacs,
        patient_authority=exchange.b_mrns, patient_identifier="B777", enterprise_id=ENTERPRISE_ID,
        studies=[prior(exchange, s) for s in studies], trigger=PrefetchJob.RADIOLOGIST,
        priority=priority, requested_by="radiologist")


def run(job: PrefetchJob) -> engine.RunResult:
    """One run of the job, as the worker's task makes it."""
    return engine.job_run(job_id=job.pk, dicom=tasks.DICOM, calling_ae=settings.DICOM_AE_TITLE)


@pytest.fixture
def node_of_its_own(tmp_path_factory: pytest.TempPathFactory, node_environment: dict[str, str]
                    ) -> Iterator[Callable[..., Node]]:
    """`node_of_its_own(name, broker_database=N, SETTING=value, ...)`: a node with settings of its
    own and a broker no other node of the session consumes from (Redis database N, or a SQLite
    file), so that its worker and beat see only this test's tasks. Stopped after the test."""
    made: list[Node] = []

    def make(name: str, *, broker_database: int, **settings: str) -> Node:
        base = tmp_path_factory.mktemp(name)
        if ON_POSTGRES:
            broker = re.sub(r"/\d+$", f"/{broker_database}", node_environment["CELERY_BROKER_URL"])
        else:
            broker = f"sqla+sqlite:///{base / 'broker.sqlite3'}"
        made.append(Node(base=base, env={**node_environment, "CELERY_BROKER_URL": broker, **settings}))
        return made[-1]

    yield make
    for running in made:
        running.stop()
