"""ITI-47 through the real web process: a radiologist's system looks Jane up by her
demographics over PDQv3, each answer a PRPA_IN201306UV02 valid against its schema."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from audit.models import AuditEvent
from empi.models import PatientRecord
from tests.conftest import needs_node
from tests.empi.v3_messages import (
    ADD,
    AFFINITY_OID,
    DEMOGRAPHICS_QUERY,
    HOSPITAL_A_OID,
    HOSPITAL_B_OID,
    JANE_AT_A,
    JANE_AT_B,
    JOHN_AT_B,
    PDQ,
    acknowledged,
    code_of,
    details,
    example,
    feed,
    pdq_query,
    post,
    query_status,
    steps,
    subjects,
)
from tests.servers.node import Node

pytestmark = needs_node
PARAMETERS = "/controlActProcess/queryByParameter/parameterList"
QUERY_ACK = steps("controlActProcess", "queryAck")


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def client(web: Node, himss_domains: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=60) as http:
        yield http


@pytest.fixture
def jane(client: httpx.Client) -> str:
    """Hospitals A and B have fed Jane, hospital B John too; Jane's enterprise ID."""
    for patient in (JANE_AT_A, JANE_AT_B, JOHN_AT_B):
        assert acknowledged(post(client, ADD, feed(patient))) == "AA"
    return PatientRecord.objects.get(identifier="A123").person.enterprise_id.split("^")[0]



def test_jane_is_found_by_name_and_birth_date_with_every_identifier(
        client: httpx.Client, jane: str) -> None:
    answer = post(client, DEMOGRAPHICS_QUERY, pdq_query(family="Doe", birth="19800101"), path="/pdq/v3")
    assert (acknowledged(answer), query_status(answer)) == ("AA", "OK")
    assert subjects(answer) == [{(HOSPITAL_A_OID, "A123"), (HOSPITAL_B_OID, "B777"), (AFFINITY_OID, jane)}]
    assert answer.findtext(steps("controlActProcess", "subject", "registrationEvent", "subject1",
                                 "patient", "patientPerson", "name", "family")) == "DOE"


def test_the_domains_asked_for_limit_the_identifiers(client: httpx.Client, jane: str) -> None:
    answer = post(client, DEMOGRAPHICS_QUERY, pdq_query(family="Doe", domains=(HOSPITAL_B_OID,)),
                  path="/pdq/v3")
    assert subjects(answer) == [{(HOSPITAL_B_OID, "B777")}]


def test_nobody_matching_is_not_found(client: httpx.Client, jane: str) -> None:
    answer = post(client, DEMOGRAPHICS_QUERY, pdq_query(family="Nobody"), path="/pdq/v3")
    assert (acknowledged(answer), query_status(answer), subjects(answer)) == ("AA", "NF", [])


def test_the_initial_quantity_limits_the_answer_and_says_how_many_remain(
        client: httpx.Client, jane: str) -> None:
    # Another Doe altogether, at hospital A.
    other = {**JOHN_AT_B, "mrn": "A124", "oid": HOSPITAL_A_OID, "given": "DORA", "family": "DOE",
             "sex": "F"}
    assert acknowledged(post(client, ADD, feed(other))) == "AA"
    answer = post(client, DEMOGRAPHICS_QUERY, pdq_query(family="Doe", quantity=1), path="/pdq/v3")
    assert len(subjects(answer)) == 1
    assert [code_of(answer, f"{QUERY_ACK}/{steps(tag)}", "value") for tag in (
        "resultTotalQuantity", "resultCurrentQuantity", "resultRemainingQuantity")] == ["2", "1", "1"]


def test_ipfs_example_naming_an_unknown_domain_is_an_error_naming_it(client: httpx.Client) -> None:
    answer = post(client, DEMOGRAPHICS_QUERY, example(PDQ), path="/pdq/v3")
    assert (acknowledged(answer), query_status(answer)) == ("AE", "AE")
    assert details(answer) == [("204", f"{PARAMETERS}/otherIDsScopingOrganization[1]/value")]


def test_every_query_is_audited_with_the_patients_returned(client: httpx.Client, jane: str) -> None:
    post(client, DEMOGRAPHICS_QUERY, pdq_query(family="Doe"), path="/pdq/v3")
    post(client, DEMOGRAPHICS_QUERY, example(PDQ), path="/pdq/v3")
    events = list(AuditEvent.objects.filter(transaction="ITI-47").order_by("id"))
    assert [(e.event_id, e.outcome) for e in events] == [("110112", 0), ("110112", 4)]
    assert jane in events[0].patient_ids


def test_the_wsdl_is_served_with_its_schemas(client: httpx.Client) -> None:
    from lxml import etree

    wsdl = etree.fromstring(client.get("/pdq/v3?wsdl").content)
    for node in wsdl.iterfind(".//{http://www.w3.org/2001/XMLSchema}import"):
        assert client.get(node.get("schemaLocation", "")).status_code == 200
