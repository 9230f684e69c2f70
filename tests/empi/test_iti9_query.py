"""ITI-9 PIX Query over HL7 v2: QBP^Q23 in, RSP^K23 out (ITI TF-2a 3.9.4.2.2.6)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from config.routes import HL7V2_ROUTES
from empi.models import PatientRecord
from mllp.dispatch import Router
from tests.empi.conftest import HOSPITAL_A_CX4, HOSPITAL_B_CX4, Domain
from tests.empi.messages import (
    EXAMPLES,
    JANE_AT_A,
    JANE_AT_B,
    JOHN_AT_B,
    adt,
    cx,
    field,
    pid3,
    qbp,
    segment_text,
)

pytestmark = pytest.mark.django_db
AFFINITY_OID = "1.3.6.1.4.1.21367.2005.3.7"
PIX_QUERY = EXAMPLES / "pixquery" / "v2"


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Router:
    # The listener closes stale connections around each message; the test's transaction is not one.
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    return Router(HL7V2_ROUTES)


@pytest.fixture
def jane(domain: Domain, router: Router) -> str:
    """Hospitals A and B have registered Jane; her enterprise ID."""
    for message in (adt("A04", JANE_AT_A), adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB")):
        assert field(router.respond(message).payload, "MSA", 1) == "AA"
    return PatientRecord.objects.get(identifier="A123").person.enterprise_id


def ask(router: Router, message: bytes) -> bytes:
    return router.respond(message).payload


def test_a_query_with_bs_mrn_returns_as_mrn_and_the_enterprise_id(jane: str, router: Router) -> None:
    reply = ask(router, qbp(cx("B777", HOSPITAL_B_CX4), control="Q1"))
    assert field(reply, "MSH", 9) == "RSP^K23^RSP_K23"
    assert (field(reply, "MSA", 1), field(reply, "MSA", 2)) == ("AA", "Q1")
    assert (field(reply, "QAK", 1), field(reply, "QAK", 2)) == ("TAGQ1", "OK")
    assert pid3(reply) == {cx("A123", HOSPITAL_A_CX4),
                           f"{jane.split('^')[0]}^^^IHEHIE&{AFFINITY_OID}&ISO"}
    assert jane.endswith(f"^^^&{AFFINITY_OID}&ISO")
    assert segment_text(reply, "QPD") == f"QPD|IHE PIX Query|TAGQ1|{cx('B777', HOSPITAL_B_CX4)}|"


def test_the_response_has_the_shape_of_ipfs_ok_example(jane: str, router: Router) -> None:
    example = (PIX_QUERY / "ok-3_Response.hl7").read_text().replace("\n", "\r")
    reply = ask(router, qbp(cx("B777", HOSPITAL_B_CX4), domains=f"^^^{HOSPITAL_A_CX4}")).decode()
    shape = [s.split("|")[0] for s in example.split("\r") if s]
    assert [s.split("|")[0] for s in reply.split("\r") if s] == shape
    assert field(reply, "PID", 5) == field(example, "PID", 5) == "~^^^^^^S"


def test_what_domains_returned_limits_the_answer(jane: str, router: Router) -> None:
    reply = ask(router, qbp(cx("B777", HOSPITAL_B_CX4), domains=f"^^^{HOSPITAL_A_CX4}"))
    assert pid3(reply) == {cx("A123", HOSPITAL_A_CX4)}


def test_a_known_patient_with_no_identifier_in_the_domains_asked_is_not_found(
        domain: Domain, router: Router) -> None:
    router.respond(adt("A04", JANE_AT_A))
    reply = ask(router, qbp(cx("A123", HOSPITAL_A_CX4), domains=f"^^^{HOSPITAL_B_CX4}"))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AA", "NF")
    assert not segment_text(reply, "PID")


def test_an_unknown_mrn_is_an_error_at_qpd_3_1_as_in_the_mesa_example(jane: str, router: Router) -> None:
    # ITI TF-2a 3.9.4.2.2.6, case 3: the shared MESA response err-1 has this shape.
    example = (PIX_QUERY / "err-1_Response.hl7").read_text().replace("\n", "\r")
    reply = ask(router, qbp(cx("NOBODY", HOSPITAL_B_CX4)))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AE", "AE")
    assert field(reply, "ERR", 2) == field(example, "ERR", 2) == "QPD^1^3^1^1"
    assert field(reply, "ERR", 3).split("^")[0] == field(example, "ERR", 3) == "204"
    assert not segment_text(reply, "PID")



def test_an_unknown_assigning_authority_is_an_error_at_qpd_3(jane: str, router: Router) -> None:
    # The identifier of IPF's not-found example, in a domain this affinity domain does not know.
    example = (PIX_QUERY / "nf-2_Response.hl7").read_text().replace("\n", "\r")
    reply = ask(router, qbp(field(example, "QPD", 3)))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AE", "AE")
    assert field(reply, "ERR", 2) == "QPD^1^3^1^4"
    assert field(reply, "ERR", 3) == "204^Unknown key identifier^HL70357"
    assert not segment_text(reply, "PID")


def test_an_unknown_domain_in_qpd_4_is_an_error_naming_its_repetition(jane: str, router: Router) -> None:
    domains = f"^^^{HOSPITAL_A_CX4}~^^^NONEXISTING&1.2.3.4&ISO"
    reply = ask(router, qbp(cx("B777", HOSPITAL_B_CX4), domains=domains))
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "QPD^1^4^2"
    assert field(reply, "ERR", 3).startswith("204^")


def test_a_query_without_qpd_is_an_error_naming_the_segment(domain: Domain, router: Router) -> None:
    message = b"MSH|^~\\&|HOSPB_RIS|HOSPB|HIENODE|HIE|20250101||QBP^Q23^QBP_Q21|Q9|P|2.5\rRCP|I\r"
    reply = ask(router, message)
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "QPD"
    assert field(reply, "ERR", 3).startswith("100^")


def test_a_query_without_an_identifier_is_an_error_naming_qpd_3(domain: Domain, router: Router) -> None:
    reply = ask(router, qbp(""))
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "QPD^1^3^1^1"
    assert field(reply, "ERR", 3).startswith("101^")


def test_after_a_merge_the_query_answers_with_the_survivors_identifiers(
        jane: str, router: Router) -> None:
    router.respond(adt("A04", JOHN_AT_B, sender="HOSPB_HIS^HOSPB"))
    assert pid3(ask(router, qbp(cx("B900", HOSPITAL_B_CX4)))) and (
        cx("A123", HOSPITAL_A_CX4) not in pid3(ask(router, qbp(cx("B900", HOSPITAL_B_CX4)))))
    merge = adt("A40", JANE_AT_A, merge=cx("B900", HOSPITAL_B_CX4))
    assert field(router.respond(merge).payload, "MSA", 1) == "AA"
    answer = pid3(ask(router, qbp(cx("B900", HOSPITAL_B_CX4))))
    assert cx("A123", HOSPITAL_A_CX4) in answer and cx("B777", HOSPITAL_B_CX4) in answer
    assert f"{jane.split('^')[0]}^^^IHEHIE&{AFFINITY_OID}&ISO" in answer


def test_every_query_is_audited_with_the_patient_asked_about(jane: str, router: Router) -> None:
    ask(router, qbp(cx("B777", HOSPITAL_B_CX4), control="Q5"))
    ask(router, qbp("X^^^NOWHERE&9.9.9&ISO", control="Q6"))
    events = list(AuditEvent.objects.filter(event_id="110112").order_by("id"))
    assert [(e.transaction, e.outcome) for e in events] == [("ITI-9", 0), ("ITI-9", 4)]
    assert cx("B777", HOSPITAL_B_CX4) in events[0].patient_ids
    assert events[0].user_id == "HOSPB_RIS|HOSPB"


def test_a_query_with_the_enterprise_id_returns_both_hospitals_mrns(jane: str, router: Router) -> None:
    reply = ask(router, qbp(f"{jane.split('^')[0]}^^^&{AFFINITY_OID}&ISO"))
    assert field(reply, "QAK", 2) == "OK"
    assert pid3(reply) == {cx("A123", HOSPITAL_A_CX4), cx("B777", HOSPITAL_B_CX4)}
