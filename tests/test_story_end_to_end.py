"""The story of DESIGN.md end to end, over the wire: hospital A and hospital B register Jane
(ITI-8 over MLLP), hospital A publishes her CT by RAD-68, hospital B's order (RAD-4) makes the
worker C-MOVE it from A's PACS to B's, the radiologist at B sees it there, and every step is
audited and reaches the audit repository over TLS syslog.

Everything runs in the node's own processes (web, mllp, worker, beat) against two real Orthancs
and a real rsyslogd; the test process only configures the exchange as an operator would.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from lxml import etree, html
from pydicom.dataset import Dataset

from audit.models import AuditEvent
from empi.models import PatientRecord
from imaging.models import DicomNode
from imaging.prefetch.models import PrefetchJob, PrefetchStudy, RelevantPriorRule
from lib.demo_ca import DemoCertificates, write_demo_certs
from organisations.models import AssigningAuthority, Organisation
from organisations.services import demo_bootstrap, member_save
from registry.ebrim.namespaces import SUCCESS
from registry.models import PatientIdentity
from tests.audit.test_syslog import parse
from tests.conftest import ON_POSTGRES, needs_node
from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4, HOSPITAL_B_CX4
from tests.empi.messages import JANE_AT_A, JANE_AT_B, adt, field, segment_text
from tests.imaging.kos_factory import kos_build
from tests.imaging.prefetch.orders import orm
from tests.imaging.prefetch.sites import (
    EVENT_CODE_LIST,
    HOSPA_OID,
    HOSPB_OID,
    PACS_A_LOCATION,
    STUDY_UID_TYPE,
    a_study,
    upload,
)
from tests.mllp.client import connect, exchange
from tests.registry import submissions
from tests.repository.provide import SCHEMAS, Request, errors_of, post, provide_request, set_slot, sha1
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer, start_orthanc
from tests.servers.process import free_port
from tests.servers.rsyslog import RsyslogServer, start_rsyslog

pytestmark = needs_node

PASSWORD = "correct horse battery staple"
INSTANCES = 3
# The node forwards its audit records often, so that the test does not wait for them.
FORWARD_SECONDS = 1
# What the story audits (PS3.15 A.5.3): Patient Record (ITI-8), Import (RAD-68), Query (the
# order's look-up and the radiologist's list), DICOM Instances Transferred (the C-MOVE).
STORY_EVENTS = ("110110", "110107", "110112", "110104")
# RAD-68 over plain HTTP names its source by its wsa:ReplyTo: anonymous.
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"


@dataclass
class Pacs:
    a: OrthancServer  # hospital A's: holds Jane's CT, moves it on request
    b: OrthancServer  # hospital B's: where B's outside priors go


@dataclass
class Story:
    node: Node
    pacs: Pacs
    audit_repository: RsyslogServer
    hospital_b: Organisation
    a_pacs: DicomNode  # a query/retrieve source
    b_pacs: DicomNode  # hospital B's move destination


@pytest.fixture
def exchange_ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """The exchange's CA, the audit repository's server certificate and the node's client one."""
    return write_demo_certs(tmp_path_factory.mktemp("story-ca"), clients=["hienode"])


@pytest.fixture
def audit_repository(tmp_path_factory: pytest.TempPathFactory,
                     exchange_ca: DemoCertificates) -> Iterator[RsyslogServer]:
    server = start_rsyslog(tmp_path_factory.mktemp("story-rsyslog"), certs=exchange_ca.ca.cert.parent)
    yield server
    server.stop()


@pytest.fixture
def story_node(tmp_path_factory: pytest.TempPathFactory, node_environment: dict[str, str],
               exchange_ca: DemoCertificates, audit_repository: RsyslogServer) -> Iterator[Node]:
    """A node of its own (its own broker, its audit forwarded to `audit_repository`); its
    processes are stopped before the test's data is flushed."""
    base = tmp_path_factory.mktemp("story-node")
    client = exchange_ca.clients["hienode"]
    # No other node of the run may consume this node's tasks.
    broker = (re.sub(r"/\d+$", "/3", node_environment["CELERY_BROKER_URL"]) if ON_POSTGRES
              else f"sqla+sqlite:///{base / 'broker.sqlite3'}")
    running = Node(base=base, env={
        **node_environment, "CELERY_BROKER_URL": broker,
        "AUDIT_SYSLOG_URL": f"tls://127.0.0.1:{audit_repository.port}",
        "AUDIT_SYSLOG_CA_FILE": str(exchange_ca.ca.cert),
        "AUDIT_SYSLOG_CERT_FILE": str(client.cert), "AUDIT_SYSLOG_KEY_FILE": str(client.key),
        "AUDIT_FORWARD_SECONDS": str(FORWARD_SECONDS),
    })
    yield running
    _stop_worker(running)
    running.stop()


@pytest.fixture
def pacs(tmp_path_factory: pytest.TempPathFactory, story_node: Node) -> Iterator[Pacs]:
    """Hospital A's and hospital B's PACSs, each knowing the other and the node's AE."""
    a_ports, b_ports = (free_port(), free_port()), (free_port(), free_port())
    node_ae = (settings.DICOM_AE_TITLE, "127.0.0.1", story_node.dicom_port)
    allow: dict[str, object] = {"DicomAlwaysAllowFind": True, "DicomAlwaysAllowMove": True}
    b = start_orthanc(tmp_path_factory.mktemp("story-pacs-b"), ae_title="HOSPB_PACS", ports=b_ports,
                      modalities={"HOSPA": ("HOSPA_PACS", "127.0.0.1", a_ports[1]), "HIENODE": node_ae},
                      extra_config=allow)
    a = start_orthanc(tmp_path_factory.mktemp("story-pacs-a"), ae_title="HOSPA_PACS", ports=a_ports,
                      modalities={"HOSPB": ("HOSPB_PACS", "127.0.0.1", b_ports[1]), "HIENODE": node_ae},
                      extra_config=allow)
    yield Pacs(a=a, b=b)
    a.stop()
    b.stop()


@pytest.fixture
def story(story_node: Node, pacs: Pacs, audit_repository: RsyslogServer) -> Story:
    """The exchange as its operator sets it up: the demo affinity domain, each hospital's PACS
    as a DICOM node, B's rule that a CT order brings the CT priors, and Rita, a radiologist at B."""
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    hospital_a = cast(Organisation, AssigningAuthority.objects.get(universal_id=HOSPA_OID).organisation)
    hospital_b = cast(Organisation, AssigningAuthority.objects.get(universal_id=HOSPB_OID).organisation)
    a_pacs = DicomNode.objects.create(organisation=hospital_a, ae_title="HOSPA_PACS", host="127.0.0.1",
                                      port=pacs.a.dicom_port, retrieve_location_uid=PACS_A_LOCATION,
                                      retrieve_method=DicomNode.RETRIEVE_C_MOVE, is_source=True)
    b_pacs = DicomNode.objects.create(organisation=hospital_b, ae_title="HOSPB_PACS", host="127.0.0.1",
                                      port=pacs.b.dicom_port, is_source=False, is_destination=True)
    RelevantPriorRule.objects.create(name="CT priors for CT orders at B", ordering_organisation=hospital_b,
                                     order_modalities="CT", prior_modalities="CT")
    member_save(user=User.objects.create_user("rita", password=PASSWORD), organisation=hospital_b)
    story_node.start("web", "mllp")
    _start_worker(story_node)
    story_node.start("beat")
    return Story(story_node, pacs, audit_repository, hospital_b, a_pacs, b_pacs)


def test_an_order_at_b_brings_janes_ct_from_a_and_every_step_is_audited(story: Story) -> None:
    node, pacs = story.node, story.pacs

    # Steps 1-2: both hospitals register Jane; B mistyped her given name, the EMPI links her anyway.
    with connect(node.mllp_port) as sock:
        at_a = exchange(sock, adt("A04", JANE_AT_A))
        at_b = exchange(sock, adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB"))
    assert field(at_a, "MSA", 1) == "AA", segment_text(at_a, "ERR")
    assert field(at_b, "MSA", 1) == "AA", segment_text(at_b, "ERR")
    person = PatientRecord.objects.get(identifier="A123").person
    assert PatientRecord.objects.get(identifier="B777").person == person
    enterprise_id = person.enterprise_id
    assert PatientIdentity.objects.filter(patient_id=enterprise_id).exists()

    # Step 3: hospital A's PACS holds a CT of A123, and A's imaging document source publishes it.
    # Last month's: within the rule's look-back whenever the test runs.
    last_month = (date.today() - timedelta(days=30)).strftime("%Y%m%d")
    ct = a_study("A123", count=INSTANCES, study_date=last_month)
    upload(pacs.a, ct)
    study_uid = str(ct[0].StudyInstanceUID)
    with httpx.Client(base_url=node.url, timeout=60) as http:
        published = post(http, rad68_request(ct, enterprise_id), rs_schema())
    assert published.get("status") == SUCCESS, errors_of(published)

    # Step 4-5: hospital B's RIS orders a CT for B777; the worker moves the prior to B's PACS.
    with connect(node.mllp_port) as sock:
        ordered = exchange(sock, orm(mrn="B777", accession="ACC-B-1", modality="CT"))
    assert (field(ordered, "MSA", 1), field(ordered, "MSA", 2)) == ("AA", "ORM1"), \
        segment_text(ordered, "ERR")
    job = PrefetchJob.objects.get()
    assert (job.organisation, job.destination, job.patient_identifier, job.enterprise_id, job.trigger) == (
        story.hospital_b, story.b_pacs, "B777", enterprise_id, PrefetchJob.ORDER)
    assert [s.study_instance_uid for s in job.studies.all()] == [study_uid]
    expected = {str(ds.SOPInstanceUID) for ds in ct}
    eventually(lambda: held(pacs.b, study_uid) == expected, timeout=120,
               what="hospital B's PACS did not receive every instance",
               log=node.processes["worker"].output)
    eventually(lambda: PrefetchJob.objects.filter(pk=job.pk, status=PrefetchJob.DONE).exists(),
               timeout=60, what="the prefetch job did not end done", log=node.processes["worker"].output)
    moved = PrefetchStudy.objects.get(job=job)
    assert (moved.status, moved.source, moved.at_destination) == (PrefetchStudy.DONE, story.a_pacs, INSTANCES)

    # The radiologist at B opens B777: the CT is listed as already here, its fetch done.
    page = patient_page(node.url, "B777")
    [row] = page.xpath("//table[@id='priors-table']//tr[@data-study-uid=$uid]", uid=study_uid)
    row_text = " ".join(row.text_content().split())
    assert "Hospital A" in row_text and "already here" in row_text and "CT CHEST" in row_text
    assert not row.xpath(".//button")  # nothing left to fetch
    [fetched] = page.xpath("//section[@id='progress']//article[@data-job-id=$pk]", pk=str(job.pk))
    assert fetched.xpath("string(.//*[@data-job-status])").strip() == PrefetchJob.DONE
    assert f"{INSTANCES} / {INSTANCES} instances" in " ".join(fetched.text_content().split())

    # Step 6: every step audited, in the order it happened, each committed with what it records.
    a123, b777 = f"A123^^^{HOSPITAL_A_CX4}", f"B777^^^{HOSPITAL_B_CX4}"
    trail = AuditEvent.objects.filter(event_id__in=STORY_EVENTS).order_by("pk")
    assert [(e.event_id, e.transaction, e.outcome, e.user_id, e.organisation, e.patient_ids)
            for e in trail] == [
        ("110110", "ITI-8", 0, "HOSPA_HIS|HOSPA", "", f"{a123}|{enterprise_id}"),
        ("110110", "ITI-8", 0, "HOSPB_HIS|HOSPB", "", f"{b777}|{enterprise_id}"),
        ("110107", "RAD-68", 0, WSA_ANONYMOUS, "", enterprise_id),
        # The order: the node's PIX look-up of B777 and its query for her manifests.
        ("110112", "ITI-18", 0, "HOSPB_RIS|HOSPB", "hospb", f"{b777}|{enterprise_id}"),
        # The C-MOVE, under the enterprise ID (PS3.15 A.5.3.7).
        ("110104", "", 0, settings.DICOM_AE_TITLE, "hospb", enterprise_id),
        # Rita's look at the priors list.
        ("110112", "ITI-18", 0, "rita", "hospb", f"{b777}|{enterprise_id}"),
    ]
    assert study_uid in str(trail.get(event_id="110104").record)

    # ... and each reached the audit repository over TLS syslog, told apart by its sequenceId.
    eventually(lambda: not trail.filter(sent_at__isnull=True).exists(), timeout=60,
               what="the story's audit records were not all forwarded",
               log=node.processes["worker"].output)
    # Read again: each row was sealed (given its sequenceId) after the trail above was read.
    sent = {cast(int, e.sequence_id): e for e in trail.all()}
    lines = story.audit_repository.wait_for(
        lambda lines: set(sent) <= {parse(line).sequence_id for line in lines})
    received = {parse(line).sequence_id: parse(line).msg for line in lines}
    for number, event in sent.items():
        assert b"<AuditMessage" in received[number]
        assert f'csd-code="{event.event_id}"'.encode() in received[number]
        assert event.transaction.encode() in received[number]
        if event.event_id == "110104":
            assert study_uid.encode() in received[number]


def held(server: OrthancServer, study_uid: str) -> set[str]:
    """The SOP Instance UIDs of the study the PACS holds, by its REST API."""
    with server.rest() as rest:
        answer = rest.post("/tools/find", json={"Level": "Instance", "Expand": True,
                                                "Query": {"StudyInstanceUID": study_uid}})
        answer.raise_for_status()
        return {i["MainDicomTags"]["SOPInstanceUID"] for i in answer.json()}


def rs_schema() -> etree.XMLSchema:
    """The ebRS 3.0 schema the repository's answer must be valid against."""
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "ebRS30" / "rs.xsd")))


def rad68_request(study: list[Dataset], enterprise_id: str) -> Request:
    """Hospital A's RAD-68: the KOS manifest of `study` (MTOM-attached) with XDS-I metadata,
    filed under Jane's enterprise ID, her MRN at A as the source patient ID."""
    first = study[0]
    study_uid, study_date = str(first.StudyInstanceUID), str(first.StudyDate)
    manifest = kos_build(
        patient_id="A123", issuer=HOSPA_OID, study_date=study_date,
        study_description=str(first.StudyDescription), studies=[(study_uid, str(first.AccessionNumber), [
            (str(first.SeriesInstanceUID), str(first.Modality), "HOSPA_PACS", PACS_A_LOCATION,
             [(str(ds.SOPClassUID), str(ds.SOPInstanceUID)) for ds in study])])])
    root = submissions.kos_submission(patient_id=enterprise_id)
    for name, value in (("sourcePatientId", f"A123^^^&{HOSPA_OID}&ISO"),
                        ("urn:ihe:iti:xds:2013:referenceIdList", f"{study_uid}^^^^{STUDY_UID_TYPE}"),
                        ("serviceStartTime", f"{study_date}0930"), ("hash", sha1(manifest)),
                        ("size", str(len(manifest))),
                        ("repositoryUniqueId", settings.REPOSITORY_UNIQUE_ID)):
        set_slot(root, "Document01", name, value)
    # RAD TF-3 4.68.4.1.2.3.2: eventCodeList carries the study's modality.
    for code in submissions.document(root).iterfind(f"{submissions.R}Classification"):
        if code.get("classificationScheme") == EVENT_CODE_LIST:
            code.set("nodeRepresentation", str(first.Modality))
    return provide_request(root, {"Document01": manifest})


def patient_page(url: str, mrn: str) -> html.HtmlElement:
    """Rita signs in to /priors/ (session cookie and CSRF token, as a browser keeps them),
    searches her organisation's patients for `mrn` and opens the one she finds."""
    with httpx.Client(base_url=url, timeout=60) as browser:
        login = browser.get("/priors/login/")
        assert login.status_code == 200, login.text
        token = html.fromstring(login.text).xpath("string(//input[@name='csrfmiddlewaretoken']/@value)")
        signed_in = browser.post("/priors/login/", data={
            "username": "rita", "password": PASSWORD, "csrfmiddlewaretoken": token, "next": ""})
        assert signed_in.status_code == 302, signed_in.text
        found = browser.get("/priors/", params={"q": mrn})
        assert found.status_code == 200, found.text
        links = html.fromstring(found.text).xpath(
            "//table[@id='patients']//a[normalize-space()=$mrn]/@href", mrn=mrn)
        assert isinstance(links, list) and len(links) == 1, found.text
        answer = browser.get(str(links[0]))
        assert answer.status_code == 200, answer.text
        return html.fromstring(answer.text)


def eventually(check: Callable[[], object], *, timeout: float, what: str,
               log: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s" + (f"\n{log()[-4000:]}" if log else ""))
        time.sleep(0.2)


def _start_worker(node: Node, timeout: float = 90) -> None:
    """The worker started, once it says it takes tasks (an order's job is not left waiting)."""
    log = node.base / "worker.log"
    offset = log.stat().st_size if log.exists() else 0
    node.start("worker")
    eventually(lambda: b" ready." in log.read_bytes()[offset:], timeout=timeout,
               what="the worker never became ready", log=node.processes["worker"].output)


def _stop_worker(node: Node) -> None:
    """A warm shutdown asked of the worker's main process: SIGTERM to its whole process group
    makes it restart its pool, and it lingers until killed."""
    worker = node.processes.get("worker")
    if worker is None or not worker.alive():
        return
    os.kill(worker.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        assert worker.process is not None
        worker.process.wait(timeout=15)
    worker.stop()

