"""ITI-47 continuation through the real web process (ITI TF-2b 3.47.4.3): the radiologist's
system pages through the Does one QUQI_IN000003UV01 at a time, or cancels; each request valid
against QUQI_IN000003UV01's schema, each answer against PRPA_IN201306UV02's or MCCI_IN000002UV01's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from empi.models import PatientRecord, PdqContinuation
from tests.conftest import needs_node
from tests.empi.v3_messages import (
    ADD,
    CANCEL,
    CONTINUE,
    DEMOGRAPHICS_QUERY,
    HOSPITAL_A_OID,
    HOSPITAL_B_OID,
    JANE_AT_A,
    JANE_AT_B,
    JOHN_AT_B,
    acknowledged,
    code_of,
    details,
    feed,
    pdq_query,
    post,
    query_continuation,
    query_id_of,
    query_status,
    steps,
    subjects,
)
from tests.servers.node import Node

pytestmark = needs_node
QUERY_ACK = steps("controlActProcess", "queryAck")
QUERY_ID = "/controlActProcess/queryContinuation/queryId"
# Two more Does, neither of them Jane: Dora at hospital A, Dan at hospital B.
DORA_AT_A = {**JOHN_AT_B, "mrn": "A124", "oid": HOSPITAL_A_OID, "given": "DORA", "family": "DOE",
             "sex": "F", "birth": "19700202"}
DAN_AT_B = {**JOHN_AT_B, "mrn": "B901", "given": "DAN", "family": "DOE", "birth": "19600303"}


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def client(web: Node, himss_domains: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=60) as http:
        yield http


@pytest.fixture
def does(client: httpx.Client) -> set[str]:
    """Jane (at hospitals A and B), Dora and Dan Doe, and John Smithers; the Does' enterprise IDs."""
    for patient in (JANE_AT_A, JANE_AT_B, DORA_AT_A, DAN_AT_B, JOHN_AT_B):
        assert acknowledged(post(client, ADD, feed(patient))) == "AA"
    return {PatientRecord.objects.get(identifier=mrn).person.enterprise_id.split("^")[0]
            for mrn in ("A123", "A124", "B901")}


def quantities(answer: etree._Element) -> list[str]:
    return [code_of(answer, f"{QUERY_ACK}/{steps(tag)}", "value")
            for tag in ("resultTotalQuantity", "resultCurrentQuantity", "resultRemainingQuantity")]


def first_page(client: httpx.Client) -> tuple[tuple[str, str], list[set[tuple[str, str]]]]:
    query = pdq_query(family="Doe", quantity=1)
    answer = post(client, DEMOGRAPHICS_QUERY, query, path="/pdq/v3")
    assert quantities(answer) == ["3", "1", "2"]
    return query_id_of(query), subjects(answer)


def test_the_rest_of_an_answer_comes_page_by_page_under_its_query_id(
        client: httpx.Client, does: set[str]) -> None:
    query_id, pages = first_page(client)
    second = post(client, CONTINUE, query_continuation(query_id, quantity=1), path="/pdq/v3")
    assert (acknowledged(second), query_status(second), quantities(second)) == ("AA", "OK", ["3", "1", "1"])
    assert query_id_of(second) == query_id
    # No continuationQuantity: everything that is left.
    last = post(client, CONTINUE, query_continuation(query_id), path="/pdq/v3")
    assert quantities(last) == ["3", "1", "0"]
    sent = pages + subjects(second) + subjects(last)
    assert len(sent) == 3 and all(a != b for i, a in enumerate(sent) for b in sent[i + 1:])
    assert any((HOSPITAL_A_OID, "A124") in s for s in sent)
    assert any((HOSPITAL_B_OID, "B901") in s for s in sent)
    assert not PdqContinuation.objects.exists()


def test_a_query_whose_answer_is_all_sent_cannot_be_continued(client: httpx.Client, does: set[str]) -> None:
    query_id, _ = first_page(client)
    post(client, CONTINUE, query_continuation(query_id, quantity=5), path="/pdq/v3")
    again = post(client, CONTINUE, query_continuation(query_id, quantity=1), path="/pdq/v3")
    assert (acknowledged(again), query_status(again), subjects(again)) == ("AE", "QE", [])


def test_an_unknown_query_id_is_a_query_error_naming_it(client: httpx.Client, does: set[str]) -> None:
    answer = post(client, CONTINUE, query_continuation(("1.2.3.4", "nobody-asked")), path="/pdq/v3")
    assert (acknowledged(answer), query_status(answer)) == ("AE", "QE")
    assert details(answer) == [("204", QUERY_ID)]
    assert query_id_of(answer) == ("1.2.3.4", "nobody-asked")


def test_another_devices_continuation_of_a_query_is_refused(client: httpx.Client, does: set[str]) -> None:
    query_id, _ = first_page(client)
    stranger = query_continuation(query_id, quantity=1, sender="1.2.840.114350.1.13.99997.1")
    answer = post(client, CONTINUE, stranger, path="/pdq/v3")
    assert (acknowledged(answer), query_status(answer)) == ("AE", "QE")
    assert PdqContinuation.objects.count() == 1


def test_a_cancelled_query_is_dropped_and_not_continued(client: httpx.Client, does: set[str]) -> None:
    query_id, _ = first_page(client)
    cancelled = post(client, CANCEL, query_continuation(query_id, cancel=True), path="/pdq/v3")
    assert acknowledged(cancelled) == "AA"
    assert not PdqContinuation.objects.exists()
    answer = post(client, CONTINUE, query_continuation(query_id, quantity=1), path="/pdq/v3")
    assert (acknowledged(answer), query_status(answer)) == ("AE", "QE")


def test_cancelling_an_unknown_query_is_an_error_naming_it(client: httpx.Client, does: set[str]) -> None:
    answer = post(client, CANCEL, query_continuation(("1.2.3.4", "nobody-asked"), cancel=True),
                  path="/pdq/v3")
    assert acknowledged(answer) == "AE"
    assert details(answer) == [("204", QUERY_ID)]


def test_each_page_is_audited_as_the_query_with_the_patients_it_returns(
        client: httpx.Client, does: set[str]) -> None:
    query_id, _ = first_page(client)
    post(client, CONTINUE, query_continuation(query_id, quantity=2), path="/pdq/v3")
    post(client, CONTINUE, query_continuation(query_id), path="/pdq/v3")
    events = list(AuditEvent.objects.filter(transaction="ITI-47").order_by("id"))
    assert [(e.event_id, e.outcome) for e in events] == [("110112", 0), ("110112", 0), ("110112", 4)]
    returned = {pid for e in events[:2] for pid in e.patient_ids.split("|") if pid}
    assert {pid.split("^")[0] for pid in returned} == does


def test_the_wsdl_offers_continue_and_cancel(web: Node) -> None:
    from soap.client import make_client

    client = make_client(f"{web.url}/pdq/v3?wsdl", fetch_imports=True)
    operations = {name for service in client.wsdl.services.values() for port in service.ports.values()
                  for name in port.binding._operations}
    assert operations == {"PDSupplier_PRPA_IN201305UV02", "PDSupplier_QUQI_IN000003UV01_Continue",
                          "PDSupplier_QUQI_IN000003UV01_Cancel"}
