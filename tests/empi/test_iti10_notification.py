"""ITI-10 PIX Update Notification: ADT^A31 to hospital A's PIX consumer over MLLP (ITI TF-2a 3.10)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from django.test import Client
from pytest_django import DjangoCaptureOnCommitCallbacks

from audit.models import AuditEvent
from config.celery import app
from config.routes import HL7V2_ROUTES
from empi import tasks
from empi.models import PatientRecord, PixConsumer
from mllp.dispatch import Router
from mllp.framing import frame
from organisations.models import Organisation
from tests.empi.conftest import HOSPITAL_A_CX4, HOSPITAL_B_CX4, Domain
from tests.empi.messages import JANE_AT_A, JANE_AT_B, adt, cx, field
from tests.mllp.client import read_frame

pytestmark = pytest.mark.django_db
AFFINITY_OID = "1.3.6.1.4.1.21367.2005.3.7"


class Listener:
    """Hospital A's PIX consumer on loopback: keeps what it receives and answers `answer`,
    after closing the first `drop` connections without a word."""

    def __init__(self, answer: str = "AA", drop: int = 0) -> None:
        self.answer, self.drop = answer, drop
        self.received: list[str] = []
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                self.connections += 1
                if self.connections <= self.drop:
                    continue
                message = read_frame(connection).decode()
                self.received.append(message)
                control = field(message, "MSH", 10)
                ack = (f"MSH|^~\\&|HOSPA_PIX|HOSPA|HIENODE|HIE|20250101||ACK^A31^ACK|R{control}|P|2.5\r"
                       f"MSA|{self.answer}|{control}\r")
                connection.sendall(frame(ack.encode()))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
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


def subscribe(domain: Domain, port: int, *, active: bool = True) -> PixConsumer:
    """Hospital A's PIX consumer wants hospital A's MRNs and the enterprise ID."""
    consumer = PixConsumer.objects.create(
        organisation=Organisation.objects.get(assigning_authorities=domain.hospital_a), host="127.0.0.1",
        port=port, receiving_application="HOSPA_PIX", receiving_facility="HOSPA", active=active)
    consumer.domains.set([domain.hospital_a, domain.affinity])
    return consumer


def register_jane(router: Router) -> None:
    for message in (adt("A04", JANE_AT_A), adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB")):
        assert field(router.respond(message).payload, "MSA", 1) == "AA"


def test_when_bs_record_joins_jane_hospital_a_is_sent_her_identifiers_in_its_domains(
        domain: Domain, router: Router, listener: Listener, eager: None,
        django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks) -> None:
    subscribe(domain, listener.port)
    with django_capture_on_commit_callbacks(execute=True):
        register_jane(router)
    enterprise = PatientRecord.objects.get(identifier="A123").person.enterprise_id.split("^")[0]
    assert listener.received
    last = listener.received[-1]
    assert field(last, "MSH", 9) == "ADT^A31^ADT_A05"
    assert (field(last, "MSH", 5), field(last, "MSH", 6)) == ("HOSPA_PIX", "HOSPA")
    assert set(field(last, "PID", 3).split("~")) == {
        cx("A123", HOSPITAL_A_CX4), f"{enterprise}^^^IHEHIE&{AFFINITY_OID}&ISO"}
    assert cx("B777", HOSPITAL_B_CX4) not in last
    assert field(last, "PV1", 2) == "N"
    sent = AuditEvent.objects.filter(event_id="110110", transaction="ITI-10")
    assert sent.count() == len(listener.received)
    assert {(e.action_code, e.outcome) for e in sent} == {("R", 0)}


def test_a_consumer_that_drops_the_connection_is_tried_again(
        domain: Domain, router: Router, eager: None) -> None:
    register_jane(router)
    flaky = Listener(drop=1)
    try:
        consumer = subscribe(domain, flaky.port)
        person = PatientRecord.objects.get(identifier="A123").person
        result = tasks.pix_update_send.apply(args=(consumer.pk, person.pk))
        assert result.successful() and result.result == "AA"
        assert flaky.connections == 2 and len(flaky.received) == 1
    finally:
        flaky.close()


def test_a_consumer_answering_ae_is_audited_as_a_failure_and_not_retried(
        domain: Domain, router: Router, eager: None) -> None:
    register_jane(router)
    refusing = Listener(answer="AE")
    try:
        consumer = subscribe(domain, refusing.port)
        person = PatientRecord.objects.get(identifier="A123").person
        assert tasks.pix_update_send.apply(args=(consumer.pk, person.pk)).result == "AE"
        assert refusing.connections == 1
        event = AuditEvent.objects.get(event_id="110110", transaction="ITI-10")
        assert (event.action_code, event.outcome) == ("R", 4)
    finally:
        refusing.close()


def test_an_inactive_consumer_is_sent_nothing(
        domain: Domain, router: Router, listener: Listener, eager: None,
        django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks) -> None:
    subscribe(domain, listener.port, active=False)
    with django_capture_on_commit_callbacks(execute=True):
        register_jane(router)
    assert listener.connections == 0
    assert not AuditEvent.objects.filter(transaction="ITI-10").exists()


def test_a_person_with_no_identifier_in_the_consumers_domains_is_not_sent(
        domain: Domain, router: Router, listener: Listener, eager: None) -> None:
    assert field(router.respond(adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB")).payload,
                 "MSA", 1) == "AA"
    consumer = subscribe(domain, listener.port)
    consumer.domains.set([domain.hospital_a])
    person = PatientRecord.objects.get(identifier="B777").person
    assert tasks.pix_update_send.apply(args=(consumer.pk, person.pk)).result == ""
    assert listener.connections == 0


def test_the_operator_subscribes_a_consumer_in_the_admin(domain: Domain, admin_client: Client) -> None:
    page = admin_client.get("/admin/empi/pixconsumer/add/")
    assert page.status_code == 200
    assert b"receiving_application" in page.content and b"domains" in page.content
