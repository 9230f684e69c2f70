"""ITI-21 Patient Demographics Query over HL7 v2: QBP^Q22 in, RSP^K22 out (ITI TF-2a 3.21)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from config.routes import HL7V2_ROUTES
from empi.models import PatientRecord, PdqContinuation
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
    segment_text,
)

pytestmark = pytest.mark.django_db
PDQ = EXAMPLES / "pdq" / "v2"
AFFINITY_OID = "1.3.6.1.4.1.21367.2005.3.7"
HOSPITAL_B_OID = "1.3.6.1.4.1.21367.13.20.2000"
# Five people of one family at hospital A, different enough never to be linked.
PAGES = [(f"P{n}", HOSPITAL_A_CX4, f"PAGEWOOD^{given}", f"19{50 + n * 7}0{n + 1}1{n}", sex,
          f"{n * 11} {street} ROAD^^{city}^^{n}0{n}0{n}", "")
         for n, (given, sex, street, city) in enumerate([
             ("ALICE", "F", "OAK", "ASHFORD"), ("BERNARD", "M", "ELM", "BRISTOL"),
             ("CLAUDIA", "F", "PINE", "CHESTER"), ("DESMOND", "M", "BIRCH", "DOVER"),
             ("EUGENIA", "F", "CEDAR", "EXETER")], start=1)]


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Router:
    # The listener closes stale connections around each message; the test's transaction is not one.
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    return Router(HL7V2_ROUTES)


@pytest.fixture
def jane(domain: Domain, router: Router) -> str:
    """Hospitals A and B have registered Jane, and hospital B John; Jane's enterprise ID."""
    for message in (adt("A04", JANE_AT_A), adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB"),
                    adt("A04", JOHN_AT_B, sender="HOSPB_HIS^HOSPB")):
        assert field(router.respond(message).payload, "MSA", 1) == "AA"
    return PatientRecord.objects.get(identifier="A123").person.enterprise_id


@pytest.fixture
def pagewoods(domain: Domain, router: Router) -> None:
    for patient in PAGES:
        assert field(router.respond(adt("A04", patient)).payload, "MSA", 1) == "AA"
    assert len({r.person_id for r in PatientRecord.objects.filter(family="PAGEWOOD")}) == 5


def q22(parameters: str, *, domains: str = "", limit: str = "", tag: str = "PDQ1",
        control: str = "C1", pointer: str = "") -> bytes:
    """QBP^Q22 of ITI-21 from hospital B's registration desk, HL7 v2.5."""
    segments = [
        f"MSH|^~\\&|HOSPB_REG|HOSPB|HIENODE|HIE|20250101120000||QBP^Q22^QBP_Q21|{control}|P|2.5",
        f"QPD|IHE PDQ Query|{tag}|{parameters}|||||{domains}",
        f"RCP|I|{limit}",
    ]
    if pointer:
        segments.append(f"DSC|{pointer}|I")
    return ("\r".join(segments) + "\r").encode()


def ask(router: Router, message: bytes) -> str:
    return router.respond(message).payload.decode()


def pids(reply: str) -> list[list[str]]:
    return [s.split("|") for s in reply.split("\r") if s.startswith("PID|")]


def identifiers(pid: list[str]) -> set[str]:
    return set(pid[3].split("~")) if len(pid) > 3 and pid[3] else set()


def test_a_name_query_returns_one_pid_per_person_with_every_hospitals_mrn(
        jane: str, router: Router) -> None:
    reply = ask(router, q22("@PID.5.1^DOE~@PID.5.2^JANE"))
    assert field(reply, "MSH", 9) == "RSP^K22^RSP_K21"
    assert (field(reply, "MSA", 1), field(reply, "MSA", 2)) == ("AA", "C1")
    assert (field(reply, "QAK", 1), field(reply, "QAK", 2)) == ("PDQ1", "OK")
    [pid] = pids(reply)
    assert identifiers(pid) == {cx("A123", HOSPITAL_A_CX4), cx("B777", HOSPITAL_B_CX4),
                                f"{jane.split('^')[0]}^^^IHEHIE&{AFFINITY_OID}&ISO"}
    assert pid[5].startswith("DOE^") and pid[7] == "19800101" and pid[8] == "F"
    assert not segment_text(reply, "DSC")


def test_a_trailing_asterisk_is_a_case_insensitive_prefix(jane: str, router: Router) -> None:
    assert [p[5].split("^")[0] for p in pids(ask(router, q22("@PID.5.1^smi*")))] == ["SMITHERS"]
    assert field(ask(router, q22("@PID.5.1^smi")), "QAK", 2) == "NF"
    assert len(pids(ask(router, q22("@PID.5.1^doe")))) == 1


def test_birth_date_and_sex_must_match_exactly(jane: str, router: Router) -> None:
    assert len(pids(ask(router, q22("@PID.7^19800101~@PID.8^F")))) == 1
    assert field(ask(router, q22("@PID.7^19800101~@PID.8^M")), "QAK", 2) == "NF"
    assert field(ask(router, q22("@PID.7^19800102")), "QAK", 2) == "NF"


def test_an_identifier_query_finds_the_person_behind_bs_mrn(jane: str, router: Router) -> None:
    reply = ask(router, q22(f"@PID.3.1^B777~@PID.3.4.2^{HOSPITAL_B_OID}~@PID.3.4.3^ISO"))
    [pid] = pids(reply)
    assert cx("A123", HOSPITAL_A_CX4) in identifiers(pid)
    assert field(ask(router, q22(f"@PID.3.1^B900~@PID.3.4.2^{HOSPITAL_B_OID}~@PID.5.1^DOE")),
                 "QAK", 2) == "NF"


def test_what_domains_returned_limits_pid_3_and_leaves_out_patients_unknown_there(
        jane: str, router: Router) -> None:
    reply = ask(router, q22("@PID.5.1^*", domains=f"^^^{HOSPITAL_A_CX4}"))
    [pid] = pids(reply)
    assert identifiers(pid) == {cx("A123", HOSPITAL_A_CX4)}
    assert segment_text(reply, "QPD").endswith(f"|^^^{HOSPITAL_A_CX4}")


def test_an_unknown_domain_in_qpd_8_is_an_error_naming_its_repetition(
        jane: str, router: Router) -> None:
    domains = f"^^^{HOSPITAL_A_CX4}~^^^NOWHERE&9.9.9&ISO"
    reply = ask(router, q22("@PID.5.1^DOE", domains=domains))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AE", "AE")
    assert field(reply, "ERR", 2) == "QPD^1^8^2"
    assert field(reply, "ERR", 3) == "204^Unknown key identifier^HL70357"
    assert not pids(reply)


def test_nobody_matching_is_not_found(jane: str, router: Router) -> None:
    reply = ask(router, q22("@PID.5.1^NOBODY"))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AA", "NF")
    assert not pids(reply) and not segment_text(reply, "ERR")


def test_a_query_without_parameters_is_an_error_naming_qpd_3(domain: Domain, router: Router) -> None:
    reply = ask(router, q22(""))
    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "QPD^1^3"
    assert field(reply, "ERR", 3).startswith("101^")


def test_the_quantity_limit_pages_the_answer_with_a_continuation_pointer(
        pagewoods: None, router: Router) -> None:
    seen: list[str] = []
    pointer = ""
    for expected in (2, 2, 1):
        reply = ask(router, q22("@PID.5.1^PAGEWOOD", limit="2^RD", pointer=pointer))
        assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AA", "OK")
        assert len(pids(reply)) == expected
        seen += [p[5].split("^")[1] for p in pids(reply)]
        pointer = field(reply, "DSC", 1)
        assert bool(pointer) == (expected == 2)
    assert sorted(seen) == ["ALICE", "BERNARD", "CLAUDIA", "DESMOND", "EUGENIA"]
    assert not PdqContinuation.objects.exists()


def test_an_unknown_or_anothers_continuation_pointer_is_an_error(
        pagewoods: None, router: Router) -> None:
    first = ask(router, q22("@PID.5.1^PAGEWOOD", limit="3^RD", tag="MINE"))
    pointer = field(first, "DSC", 1)
    assert pointer
    for tag, quoted in (("MINE", "NOT-A-POINTER"), ("THEIRS", pointer)):
        reply = ask(router, q22("@PID.5.1^PAGEWOOD", limit="3^RD", tag=tag, pointer=quoted))
        assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AE", "AE")
        assert field(reply, "ERR", 2) == "DSC^1^1"
    rest = ask(router, q22("@PID.5.1^PAGEWOOD", limit="3^RD", tag="MINE", pointer=pointer))
    assert len(pids(rest)) == 2


def test_every_query_is_audited_with_its_qpd_and_the_patients_returned(
        jane: str, router: Router) -> None:
    ask(router, q22("@PID.5.1^DOE", control="C5"))
    ask(router, q22("@PID.5.1^DOE", domains="^^^NOWHERE&9.9.9&ISO", control="C6"))
    events = list(AuditEvent.objects.filter(event_id="110112").order_by("id"))
    assert [(e.transaction, e.outcome) for e in events] == [("ITI-21", 0), ("ITI-21", 4)]
    assert jane in events[0].patient_ids
    assert events[0].user_id == "HOSPB_REG|HOSPB"


def test_ipfs_maximal_query_names_a_domain_this_exchange_does_not_know(
        jane: str, router: Router) -> None:
    reply = ask(router, (PDQ / "PDQ_Maximal_Query.hl7").read_bytes().replace(b"\n", b"\r"))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AE", "AE")
    assert field(reply, "QAK", 1) == "18204@1.2.840.114350.1.13.28.1.18.5.999"
    assert field(reply, "ERR", 2) == "QPD^1^8^1"


def test_ipfs_identifier_query_of_strangers_finds_nobody(jane: str, router: Router) -> None:
    reply = ask(router, (PDQ / "PDQ_ID_Query.hl7").read_bytes().replace(b"\n", b"\r"))
    assert (field(reply, "MSA", 1), field(reply, "QAK", 2)) == ("AA", "NF")


def test_the_response_has_the_shape_of_ipfs_paged_example(pagewoods: None, router: Router) -> None:
    example = (PDQ / "PDQ_Response.hl7").read_text().replace("\n", "\r")
    reply = ask(router, q22("@PID.5.1^PAGEWOOD", limit="4^RD"))
    shape = [s.split("|")[0] for s in example.split("\r") if s]
    assert shape[-1] == "DSC"
    assert [s.split("|")[0] for s in reply.split("\r") if s] == [*shape[:4], *["PID"] * 4, "DSC"]
    assert field(reply, "DSC", 2) == field(example, "DSC", 2) == "I"
