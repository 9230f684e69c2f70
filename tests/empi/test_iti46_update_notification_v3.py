"""ITI-46 PIXV3 Update Notification: PRPA_IN201302UV02 to hospital A's PIXv3 consumer over SOAP
(ITI TF-2b 3.46), and the audit of a consumer that stays unreachable, over HL7 v2 and v3."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from lxml import etree
from pytest_django import DjangoCaptureOnCommitCallbacks

from audit.models import AuditEvent
from config.celery import app
from config.routes import HL7V2_ROUTES
from empi import tasks
from empi.models import PatientRecord, PixConsumer
from mllp.dispatch import Router
from organisations.models import Organisation
from soap.namespaces import SOAP12, WSA
from tests.empi.conftest import Domain
from tests.empi.messages import JANE_AT_A, JANE_AT_B, adt, field
from tests.empi.v3_messages import (
    AFFINITY_OID,
    HOSPITAL_A_OID,
    HOSPITAL_B_OID,
    PATIENT,
    code_of,
    mcci_acknowledgement,
    q,
    schema,
    steps,
)

pytestmark = pytest.mark.django_db
REVISED = "urn:hl7-org:v3:PRPA_IN201302UV02"
HOSPITAL_A_PIX_DEVICE = "1.3.6.1.4.1.21367.13.20.1000.9"


class PixV3Consumer:
    """Hospital A's PIXv3 consumer on loopback: checks each request against the schema of
    PRPA_IN201302UV02, keeps it, and acknowledges it with `answer`, after answering the first
    `unavailable` requests with HTTP 503."""

    def __init__(self, answer: str = "AA", unavailable: int = 0) -> None:
        self.answer, self.unavailable = answer, unavailable
        self.received: list[etree._Element] = []
        self.actions: list[str] = []
        self.invalid: list[str] = []
        self.requests = 0
        consumer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                consumer.requests += 1
                if consumer.requests <= consumer.unavailable:
                    self.send_error(503)
                    return
                envelope = etree.fromstring(body)
                consumer.actions.append(envelope.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") or "")
                message = envelope.find(f"{{{SOAP12}}}Body/{q('PRPA_IN201302UV02')}")
                if message is None:
                    consumer.invalid.append("no PRPA_IN201302UV02 in the Body")
                else:
                    validator = schema("PRPA_IN201302UV02")
                    if not validator.validate(message):
                        consumer.invalid.append(str(validator.error_log))
                    consumer.received.append(message)
                answer = mcci_acknowledgement(consumer.answer, request=message)
                schema("MCCI_IN000002UV01").assertValid(answer)
                reply = (f'<env:Envelope xmlns:env="{SOAP12}" xmlns:wsa="{WSA}"><env:Header>'
                         f"<wsa:Action>urn:hl7-org:v3:MCCI_IN000002UV01</wsa:Action></env:Header>"
                         f"<env:Body>{etree.tostring(answer, encoding='unicode')}</env:Body>"
                         f"</env:Envelope>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/pix/consumer"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def consumer_v3() -> Iterator[PixV3Consumer]:
    found = PixV3Consumer()
    yield found
    found.close()


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Router:
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    return Router(HL7V2_ROUTES)


@pytest.fixture
def eager() -> Iterator[None]:
    # The tasks run here, in the test's process, as the worker would run them.
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])


def subscribe_v3(domain: Domain, endpoint: str) -> PixConsumer:
    """Hospital A's PIXv3 consumer wants hospital A's MRNs and the enterprise ID."""
    consumer = PixConsumer.objects.create(
        organisation=Organisation.objects.get(assigning_authorities=domain.hospital_a),
        protocol=PixConsumer.HL7V3, endpoint=endpoint, receiving_application=HOSPITAL_A_PIX_DEVICE)
    consumer.domains.set([domain.hospital_a, domain.affinity])
    return consumer


def register_jane(router: Router) -> None:
    for message in (adt("A04", JANE_AT_A), adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB")):
        assert field(router.respond(message).payload, "MSA", 1) == "AA"


def jane_id(router: Router) -> int:
    register_jane(router)
    return PatientRecord.objects.get(identifier="A123").person_id


def notified_ids(message: etree._Element) -> set[tuple[str, str]]:
    return {(i.get("root") or "", i.get("extension") or "")
            for i in message.findall(f"{PATIENT}/{q('id')}")}


def test_a_v3_consumer_gets_prpa_in201302_when_a_record_links_to_jane(
        domain: Domain, router: Router, consumer_v3: PixV3Consumer, eager: None,
        django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks) -> None:
    subscribe_v3(domain, consumer_v3.url)
    with django_capture_on_commit_callbacks(execute=True):
        register_jane(router)
    enterprise = PatientRecord.objects.get(identifier="A123").person.enterprise_id.split("^")[0]
    assert consumer_v3.received and not consumer_v3.invalid
    assert set(consumer_v3.actions) == {REVISED}
    last = consumer_v3.received[-1]
    assert notified_ids(last) == {(HOSPITAL_A_OID, "A123"), (AFFINITY_OID, enterprise)}
    assert (HOSPITAL_B_OID, "B777") not in notified_ids(last)
    assert code_of(last, steps("receiver", "device", "id"), "root") == HOSPITAL_A_PIX_DEVICE
    sent = AuditEvent.objects.filter(event_id="110110", transaction="ITI-46")
    assert sent.count() == len(consumer_v3.received)
    assert {(e.action_code, e.outcome) for e in sent} == {("R", 0)}
    assert not AuditEvent.objects.filter(transaction="ITI-10").exists()


def test_a_v3_consumer_answering_ae_is_audited_as_a_failure_and_not_retried(
        domain: Domain, router: Router, eager: None) -> None:
    person_id = jane_id(router)
    refusing = PixV3Consumer(answer="AE")
    try:
        consumer = subscribe_v3(domain, refusing.url)
        assert tasks.pix_update_send.apply(args=(consumer.pk, person_id)).result == "AE"
        assert refusing.requests == 1 and not refusing.invalid
        event = AuditEvent.objects.get(event_id="110110", transaction="ITI-46")
        assert (event.action_code, event.outcome) == ("R", 4)
    finally:
        refusing.close()


def test_a_v3_consumer_answering_503_service_unavailable_is_tried_again(
        domain: Domain, router: Router, eager: None) -> None:
    person_id = jane_id(router)
    busy = PixV3Consumer(unavailable=1)
    try:
        consumer = subscribe_v3(domain, busy.url)
        result = tasks.pix_update_send.apply(args=(consumer.pk, person_id))
        assert result.successful() and result.result == "AA"
        assert busy.requests == 2 and len(busy.received) == 1
    finally:
        busy.close()


def test_a_v3_consumer_still_unreachable_after_the_last_retry_is_audited_as_a_serious_failure(
        domain: Domain, router: Router, eager: None, closed_port: int) -> None:
    person_id = jane_id(router)
    consumer = subscribe_v3(domain, f"http://127.0.0.1:{closed_port}/pix/consumer")
    # The tenth retry, the last one max_retries allows: no backoff is waited for.
    result = tasks.pix_update_send.apply(args=(consumer.pk, person_id), retries=10)
    assert result.failed() and isinstance(result.result, OSError)
    event = AuditEvent.objects.get(event_id="110110", transaction="ITI-46")
    assert (event.action_code, event.outcome) == ("R", 8)
    assert f"127.0.0.1:{closed_port}" in event.record["outcome_description"]
    assert "A123" in event.patient_ids


def test_a_v2_consumer_still_unreachable_after_the_last_retry_is_audited_as_a_serious_failure(
        domain: Domain, router: Router, eager: None, closed_port: int) -> None:
    person_id = jane_id(router)
    consumer = PixConsumer.objects.create(
        organisation=Organisation.objects.get(assigning_authorities=domain.hospital_a),
        host="127.0.0.1", port=closed_port, receiving_application="HOSPA_PIX", receiving_facility="HOSPA")
    consumer.domains.set([domain.hospital_a])
    result = tasks.pix_update_send.apply(args=(consumer.pk, person_id), retries=10)
    assert result.failed() and isinstance(result.result, OSError)
    event = AuditEvent.objects.get(event_id="110110", transaction="ITI-10")
    assert (event.action_code, event.outcome) == ("R", 8)
    assert "HOSPA_PIX" in event.record["outcome_description"]


def test_a_failure_before_the_last_retry_leaves_no_audit_of_its_own(
        domain: Domain, router: Router, closed_port: int) -> None:
    person_id = jane_id(router)
    consumer = subscribe_v3(domain, f"http://127.0.0.1:{closed_port}/pix/consumer")
    with pytest.raises(OSError):
        # Run as the worker's first try, with no eager retry behind it.
        tasks.pix_update_send.run(consumer.pk, person_id)
    assert not AuditEvent.objects.filter(transaction="ITI-46").exists()


def test_a_consumer_subscribed_before_hl7_v3_stays_an_hl7_v2_consumer(domain: Domain) -> None:
    consumer = PixConsumer.objects.create(
        organisation=Organisation.objects.get(assigning_authorities=domain.hospital_a),
        host="127.0.0.1", port=2575)
    assert (consumer.protocol, consumer.transaction) == (PixConsumer.HL7V2, "ITI-10")


def test_the_operator_subscribes_a_v3_consumer_by_its_endpoint_in_the_admin(
        domain: Domain, admin_client: Client) -> None:
    page = admin_client.get("/admin/empi/pixconsumer/add/")
    assert page.status_code == 200
    assert b'name="protocol"' in page.content and b'name="endpoint"' in page.content
    organisation = Organisation.objects.get(assigning_authorities=domain.hospital_a)
    refused = admin_client.post("/admin/empi/pixconsumer/add/", {
        "organisation": organisation.pk, "protocol": PixConsumer.HL7V3, "domains": [domain.hospital_a.pk],
        "active": "on"})
    assert refused.status_code == 200 and not PixConsumer.objects.exists()
    saved = admin_client.post("/admin/empi/pixconsumer/add/", {
        "organisation": organisation.pk, "protocol": PixConsumer.HL7V3, "domains": [domain.hospital_a.pk],
        "endpoint": "https://pix.hospital-a.example/consumer", "active": "on"})
    assert saved.status_code == 302
    assert PixConsumer.objects.get().address == "https://pix.hospital-a.example/consumer"
