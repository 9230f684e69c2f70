"""ITI-45 through the real web process: the story of hospital A's and B's records of one woman,
asked about over PIXv3, each answer a PRPA_IN201310UV02 valid against its schema."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from empi.models import PatientRecord
from soap.client import make_client
from tests.conftest import needs_node
from tests.empi.v3_messages import (
    ADD,
    AFFINITY_OID,
    HOSPITAL_A_OID,
    HOSPITAL_B_OID,
    JANE_AT_A,
    JANE_AT_B,
    JOHN_AT_B,
    MERGE,
    QUERY,
    QUERY_KNOWN,
    QUERY_UNKNOWN_AUTHORITY,
    QUERY_UNKNOWN_ID,
    SHARED,
    acknowledged,
    details,
    envelope,
    example,
    feed,
    identifiers,
    merge,
    pix_query,
    post,
    query_status,
)
from tests.servers.node import Node

pytestmark = needs_node
PARAMETERS = "/controlActProcess/queryByParameter/parameterList"


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
    """Hospital A and hospital B have fed Jane; her enterprise ID."""
    assert acknowledged(post(client, ADD, feed(JANE_AT_A))) == "AA"
    assert acknowledged(post(client, ADD, feed(JANE_AT_B))) == "AA"
    return PatientRecord.objects.get(identifier="A123").person.enterprise_id.split("^")[0]


def test_a_query_with_bs_mrn_returns_as_mrn_and_the_enterprise_id(
        client: httpx.Client, jane: str) -> None:
    answer = post(client, QUERY, pix_query(HOSPITAL_B_OID, "B777"))
    assert (acknowledged(answer), query_status(answer)) == ("AA", "OK")
    assert identifiers(answer) == {(HOSPITAL_A_OID, "A123"), (AFFINITY_OID, jane)}


def test_the_data_sources_limit_the_answer(client: httpx.Client, jane: str) -> None:
    answer = post(client, QUERY, pix_query(HOSPITAL_B_OID, "B777", data_sources=(HOSPITAL_A_OID,)))
    assert identifiers(answer) == {(HOSPITAL_A_OID, "A123")}


def test_a_known_patient_with_no_identifier_in_the_data_sources_is_not_found(
        client: httpx.Client, jane: str) -> None:
    answer = post(client, QUERY, pix_query(HOSPITAL_B_OID, "B777", data_sources=("1.2.3.4.666",)))
    assert (acknowledged(answer), query_status(answer), identifiers(answer)) == ("AA", "NF", set())


def test_nists_query_of_an_unknown_patient_is_an_error_naming_the_patient_identifier(
        client: httpx.Client) -> None:
    # ITI TF-2b 3.45.4.2.3, case 3: a known domain, an identifier the manager does not know.
    answer = post(client, QUERY, example(QUERY_UNKNOWN_ID))
    assert (acknowledged(answer), query_status(answer)) == ("AE", "AE")
    assert details(answer) == [("204", f"{PARAMETERS}/patientIdentifier/value")]


def test_nists_query_of_an_unknown_assigning_authority_is_an_error_naming_the_patient_identifier(
        client: httpx.Client) -> None:
    answer = post(client, QUERY, example(QUERY_UNKNOWN_AUTHORITY))
    assert (acknowledged(answer), query_status(answer)) == ("AE", "AE")
    assert details(answer) == [("204", f"{PARAMETERS}/patientIdentifier/value")]


def test_nists_query_naming_an_unknown_data_source_is_an_error_naming_that_data_source(
        client: httpx.Client) -> None:
    answer = post(client, QUERY, example(QUERY_KNOWN))
    assert (acknowledged(answer), query_status(answer)) == ("AE", "AE")
    assert details(answer) == [("204", f"{PARAMETERS}/dataSource[1]/value")]


def test_after_a_merge_the_query_answers_with_the_survivors_identifiers(
        client: httpx.Client, jane: str) -> None:
    assert acknowledged(post(client, ADD, feed(JOHN_AT_B))) == "AA"
    assert (HOSPITAL_A_OID, "A123") not in identifiers(
        post(client, QUERY, pix_query(HOSPITAL_B_OID, "B900")))
    answer = post(client, MERGE, merge(surviving=(HOSPITAL_A_OID, "A123"),
                                       subsumed=(HOSPITAL_B_OID, "B900")))
    assert acknowledged(answer) == "AA"
    found = identifiers(post(client, QUERY, pix_query(HOSPITAL_B_OID, "B900")))
    assert {(HOSPITAL_A_OID, "A123"), (HOSPITAL_B_OID, "B777"), (AFFINITY_OID, jane)} <= found


def test_every_query_is_audited_with_the_patient_asked_about(client: httpx.Client, jane: str) -> None:
    post(client, QUERY, pix_query(HOSPITAL_B_OID, "B777"))
    post(client, QUERY, example(QUERY_UNKNOWN_AUTHORITY))
    events = list(AuditEvent.objects.filter(transaction="ITI-45").order_by("id"))
    assert [(e.event_id, e.outcome) for e in events] == [("110112", 0), ("110112", 4)]
    assert "B777" in events[0].patient_ids


def test_a_zeep_consumer_built_from_the_ihe_wsdl_asks_about_jane(
        web: Node, jane: str, tmp_path: Path) -> None:
    # IPF's WSDL imports its schemas from schema/HL7V3/NE2008/ beside it. Its inline schema has
    # no targetNamespace, which zeep cannot include a schema into: it is given IHE's.
    shutil.copy(SHARED / "wsdl" / "iti45" / "iti45.xsd", tmp_path / "iti45.xsd")
    wsdl = (SHARED / "wsdl" / "iti45" / "iti45.wsdl").read_text()
    (tmp_path / "iti45.wsdl").write_text(wsdl.replace(
        '<xsd:schema elementFormDefault="qualified">',
        '<xsd:schema elementFormDefault="qualified" targetNamespace="urn:ihe:iti:pixv3:2007">'))
    (tmp_path / "schema" / "HL7V3").mkdir(parents=True)
    (tmp_path / "schema" / "HL7V3" / "NE2008").symlink_to(SHARED / "schema" / "hl7v3")
    client = make_client(str(tmp_path / "iti45.wsdl"))
    binding = client.wsdl.bindings["{urn:ihe:iti:pixv3:2007}PIXManager_Binding_Soap12"]
    operation = binding.get("PIXManager_PRPA_IN201309UV02")
    # zeep cannot write HL7 v3's structural attributes (classCode is a list of a union), so the
    # query goes as built; zeep's transport sends it and the WSDL's types read the answer.
    reply = client.transport.post_xml(
        f"{web.url}/pix/v3", etree.fromstring(envelope(QUERY, pix_query(HOSPITAL_B_OID, "B777"))),
        {"Content-Type": f'application/soap+xml; charset=utf-8; action="{QUERY}"'})
    answer = binding.process_reply(client, operation, reply)  # type: ignore[attr-defined]
    assert answer.acknowledgement[0].typeCode.code == "AA"
    assert answer.controlActProcess.queryAck.queryResponseCode.code == "OK"
    patient = answer.controlActProcess.subject[0].registrationEvent.subject1.patient
    assert {(i.root, i.extension) for i in patient.id} == {(HOSPITAL_A_OID, "A123"), (AFFINITY_OID, jane)}
