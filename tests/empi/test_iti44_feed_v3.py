"""ITI-44 through the real web process: hospitals feed patients over PIXv3, and each answer is
an MCCI_IN000002UV01 valid against its schema."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from empi.models import PatientRecord
from tests.conftest import needs_node
from tests.empi.conftest import Domain
from tests.empi.v3_messages import (
    ACKNOWLEDGEMENT,
    ADD,
    FEED_MERGE,
    FEED_REGISTER,
    FEED_REVISE,
    JANE_AT_A,
    JANE_AT_B,
    MERGE,
    REVISE,
    acknowledged,
    code_of,
    details,
    example,
    feed,
    merge,
    post,
    q,
)
from tests.servers.node import Node
from tests.soap.messages import SOAP12, WSA

pytestmark = needs_node
PRIOR_LOCATION = ("/controlActProcess/subject/registrationEvent/replacementOf/priorRegistration/"
                  "subject1/priorRegisteredRole/id")


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def client(web: Node, himss_domains: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=60) as http:
        yield http


def test_ipfs_example_registration_and_revision_are_accepted(client: httpx.Client) -> None:
    added = post(client, ADD, example(FEED_REGISTER))
    assert acknowledged(added) == "AA"
    assert code_of(added, f"{q('acknowledgement')}/{q('targetMessage')}/{q('id')}", "extension") == "345"
    record = PatientRecord.objects.get(identifier="PIX10515W3")
    assert (record.given, record.middle, record.family, record.birth_date, record.sex) == (
        "MARY", "ROSE", "WASHINGTON", "19771208", "F")
    assert PatientRecord.objects.get(identifier="PIX10515W4").person == record.person
    assert acknowledged(post(client, REVISE, example(FEED_REVISE))) == "AA"
    record.refresh_from_db()
    assert record.family == "WASHINGTON UPDATE"


def test_ipfs_example_merge_is_accepted_once_its_subsumed_patient_is_known(client: httpx.Client) -> None:
    subsumed = feed({**JANE_AT_A, "oid": "1.2.3.4.666", "mrn": "120-02"})
    assert acknowledged(post(client, ADD, subsumed)) == "AA"
    assert acknowledged(post(client, MERGE, example(FEED_MERGE))) == "AA"
    survivor = PatientRecord.objects.get(identifier="120-01", authority__universal_id="1.2.3.4.5.1000")
    assert PatientRecord.objects.get(identifier="120-02").person == survivor.person


def test_hospital_b_feeding_the_same_woman_joins_hospital_as_person(client: httpx.Client) -> None:
    assert acknowledged(post(client, ADD, feed(JANE_AT_A))) == "AA"
    assert acknowledged(post(client, ADD, feed(JANE_AT_B))) == "AA"
    assert (PatientRecord.objects.get(identifier="B777").person
            == PatientRecord.objects.get(identifier="A123").person)


def test_each_feed_is_audited_as_an_iti44_patient_record(client: httpx.Client) -> None:
    post(client, ADD, feed(JANE_AT_A))
    post(client, REVISE, feed(JANE_AT_A, revise=True))
    events = list(AuditEvent.objects.filter(transaction="ITI-44").order_by("id"))
    assert [(e.event_id, e.outcome) for e in events] == [("110110", 0), ("110110", 0)]
    assert all("A123" in e.patient_ids for e in events)


def test_a_feed_from_an_unknown_authority_is_an_error_naming_the_patients_id(
        client: httpx.Client) -> None:
    answer = post(client, ADD, feed({**JANE_AT_A, "oid": "9.9.9.9"}))
    assert acknowledged(answer) == "AE"
    assert details(answer) == [("204", "/controlActProcess/subject/registrationEvent/subject1/patient/id")]
    assert not PatientRecord.objects.filter(identifier="A123").exists()
    refused = AuditEvent.objects.get(transaction="ITI-44")
    assert (refused.event_id, refused.outcome) == ("110110", 4)


def test_a_merge_of_a_patient_never_fed_is_an_error_naming_the_prior_registration(
        client: httpx.Client, domain: Domain) -> None:
    post(client, ADD, feed(JANE_AT_A))
    answer = post(client, MERGE, merge(surviving=(JANE_AT_A["oid"], "A123"),
                                       subsumed=(JANE_AT_B["oid"], "B404")))
    assert acknowledged(answer) == "AE"
    assert details(answer) == [("204", PRIOR_LOCATION)]


def test_a_body_that_is_not_the_actions_message_is_a_sender_fault(client: httpx.Client) -> None:
    from tests.empi.v3_messages import envelope

    response = client.post("/pix/v3", content=envelope(ADD, example(FEED_MERGE)),
                           headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert response.status_code == 400
    assert etree.fromstring(response.content).findtext(
        f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value") == "env:Sender"


def test_the_acknowledgement_travels_with_its_own_action(client: httpx.Client) -> None:
    from tests.empi.v3_messages import envelope

    response = client.post("/pix/v3", content=envelope(ADD, feed(JANE_AT_A)),
                           headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert etree.fromstring(response.content).findtext(
        f"{{{SOAP12}}}Header/{{{WSA}}}Action") == ACKNOWLEDGEMENT


def test_the_wsdl_names_this_endpoint_and_its_schemas_are_served(client: httpx.Client) -> None:
    wsdl = etree.fromstring(client.get("/pix/v3?wsdl").content)
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap12/}address")
    assert address is not None and address.get("location", "").endswith("/pix/v3")
    imports = wsdl.findall(".//{http://www.w3.org/2001/XMLSchema}import")
    assert len(imports) == 6
    for node in imports:
        location = node.get("schemaLocation", "")
        assert location.startswith(str(client.base_url).rstrip("/") + "/schema/hl7v3/")
        assert client.get(location).status_code == 200
    assert client.get("/schema/hl7v3/coreschemas/datatypes-base.xsd").status_code == 200


def test_a_zeep_client_reads_the_served_wsdl_with_its_schemas(web: Node) -> None:
    from soap.client import make_client

    client = make_client(f"{web.url}/pix/v3?wsdl", fetch_imports=True)
    binding = client.wsdl.bindings["{urn:ihe:iti:pixv3:2007}PIXManager_Binding_Soap12"]
    assert set(binding.all()) == {"PIXManager_PRPA_IN201301UV02", "PIXManager_PRPA_IN201302UV02",
                                  "PIXManager_PRPA_IN201304UV02", "PIXManager_PRPA_IN201309UV02"}
