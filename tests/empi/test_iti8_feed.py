"""ITI-8 over HL7 v2 as the MLLP listener dispatches it: ADT in, ACK out (ITI TF-2a 3.8)."""

from __future__ import annotations

import base64

import pytest

from audit.models import AuditEvent
from config.routes import HL7V2_ROUTES
from empi.models import PatientRecord, Person
from mllp.dispatch import Router
from registry.models import PatientIdentity
from tests.empi.conftest import Domain
from tests.empi.messages import (
    FEED_MERGE,
    FEED_REGISTER,
    FEED_REVISE,
    JANE_AT_A,
    JANE_AT_B,
    JOHN_AT_B,
    adt,
    field,
    segment_text,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Router:
    # The listener closes stale connections around each message; the test's transaction is not one.
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    return Router(HL7V2_ROUTES)


def send(router: Router, message: bytes) -> bytes:
    return router.respond(message).payload


def test_hospital_as_registration_is_acknowledged_and_makes_a_person(domain: Domain,
                                                                     router: Router) -> None:
    reply = send(router, adt("A04", JANE_AT_A, control="CTRL1"))
    assert field(reply, "MSA", 1) == "AA" and field(reply, "MSA", 2) == "CTRL1"
    assert field(reply, "MSH", 9) == "ACK^A04^ACK"
    record = PatientRecord.objects.get(identifier="A123")
    assert (record.family, record.given, record.birth_date, record.sex) == ("DOE", "JANE", "19800101", "F")
    assert record.raw["PID-5"] == "DOE^JANE^M"
    assert PatientIdentity.objects.filter(patient_id=record.person.enterprise_id).exists()


def test_the_same_woman_at_hospital_b_ends_on_the_same_person(domain: Domain, router: Router) -> None:
    send(router, adt("A04", JANE_AT_A))
    reply = send(router, adt("A01", JANE_AT_B, sender="HOSPB_HIS^HOSPB"))
    assert field(reply, "MSA", 1) == "AA"
    assert Person.objects.count() == 1
    assert {r.identifier for r in Person.objects.get().records.all()} == {"A123", "B777"}


@pytest.mark.parametrize("event", ["A01", "A04", "A05", "A08"])
def test_each_feed_event_is_accepted(domain: Domain, router: Router, event: str) -> None:
    assert field(send(router, adt(event, JANE_AT_A)), "MSA", 1) == "AA"


def test_an_a08_updates_the_record(domain: Domain, router: Router) -> None:
    send(router, adt("A04", JANE_AT_A))
    moved = (*JANE_AT_A[:5], "1 NEW ROAD^^SPRINGFIELD^^54321", JANE_AT_A[6])
    assert field(send(router, adt("A08", moved)), "MSA", 1) == "AA"
    assert PatientRecord.objects.get(identifier="A123").postcode == "54321"
    assert Person.objects.count() == 1


def test_an_a40_merges_the_subsumed_patient_into_the_survivor(domain: Domain, router: Router) -> None:
    send(router, adt("A04", JANE_AT_A))
    send(router, adt("A04", JOHN_AT_B, sender="HOSPB_HIS^HOSPB"))
    waldo = PatientRecord.objects.get(identifier="B900").person
    reply = send(router, adt("A40", JANE_AT_A, merge="B900^^^HOSPB&1.3.6.1.4.1.21367.13.20.2000&ISO"))
    assert field(reply, "MSA", 1) == "AA" and field(reply, "MSH", 9) == "ACK^A40^ACK"
    jane = PatientRecord.objects.get(identifier="A123").person
    assert PatientRecord.objects.get(identifier="B900").person == jane
    merged = PatientIdentity.objects.get(patient_id=waldo.enterprise_id).merged_into
    assert merged is not None and merged.patient_id == jane.enterprise_id


def test_an_a40_for_an_unknown_patient_is_an_error_at_mrg_1(domain: Domain, router: Router) -> None:
    send(router, adt("A04", JANE_AT_A))
    reply = send(router, adt("A40", JANE_AT_A, merge="NOBODY^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO"))
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "MRG^1^1"
    assert field(reply, "ERR", 3).startswith("204^")


def test_an_unknown_assigning_authority_is_an_error_at_pid_3(domain: Domain, router: Router) -> None:
    stranger = ("X1", "ELSEWHERE&1.2.3.4.5.6.7&ISO", *JANE_AT_A[2:])
    reply = send(router, adt("A04", stranger))
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "PID^1^3^1^4"
    assert field(reply, "ERR", 3) == "204^Unknown key identifier^HL70357"
    assert not PatientRecord.objects.exists()
    refusal = AuditEvent.objects.get(event_id="110110")
    assert refusal.outcome == 4


def test_a_feed_without_a_pid_segment_is_an_error_naming_the_segment(domain: Domain,
                                                                     router: Router) -> None:
    message = b"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101||ADT^A04^ADT_A01|C9|P|2.5\rEVN||20250101\r"
    reply = send(router, message)
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "PID"
    assert field(reply, "ERR", 3).startswith("100^")


def test_a_feed_with_no_identifier_is_an_error_naming_pid_3(domain: Domain, router: Router) -> None:
    message = (b"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101||ADT^A04^ADT_A01|C9|P|2.5\r"
               b"PID|||||DOE^JANE\r")
    reply = send(router, message)
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "PID^1^3"
    assert field(reply, "ERR", 3).startswith("101^")


def test_a_birth_date_that_is_not_a_date_is_an_error_naming_pid_7(domain: Domain, router: Router) -> None:
    bad = (*JANE_AT_A[:3], "1980-13-45", *JANE_AT_A[4:])
    reply = send(router, adt("A04", bad))
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "PID^1^7"


def test_a_garbage_message_is_rejected(domain: Domain, router: Router) -> None:
    assert field(send(router, b"not hl7 at all"), "MSA", 1) == "AR"


def test_ipfs_maximal_feed_revision_and_merge_are_acknowledged(
        domain: Domain, router: Router, himss_domains: None) -> None:
    for example in (FEED_REGISTER, FEED_REVISE):
        reply = send(router, example.read_bytes())
        assert field(reply, "MSA", 1) == "AA", segment_text(reply, "ERR")
    record = PatientRecord.objects.get(identifier="PIX10515W3")
    assert record.family == "WASHINGTON UPDATE" and record.other_family == ["DEAN"]
    # The registration named the patient in two known domains: both records, one person.
    assert PatientRecord.objects.get(identifier="PIX10515W4").person == record.person
    # The merge names 120-02 in domain1 as subsumed by 120-01.
    send(router, adt("A04", ("120-02", "domain1&1.2.3.4.666&ISO", "WASHINGTON^MARY", "19771208", "F",
                             "", "")))
    reply = send(router, FEED_MERGE.read_bytes())
    assert field(reply, "MSA", 1) == "AA", segment_text(reply, "ERR")
    assert PatientRecord.objects.get(identifier="120-01").person == (
        PatientRecord.objects.get(identifier="120-02").person)


def test_every_feed_is_audited_with_its_message_id(domain: Domain, router: Router) -> None:
    send(router, adt("A04", JANE_AT_A, control="CTRL7"))
    event = AuditEvent.objects.get(event_id="110110")
    assert event.transaction == "ITI-8" and event.action_code == "C"
    assert ["MSH-10", base64.b64encode(b"CTRL7").decode()] in event.record["objects"][0]["details"]
