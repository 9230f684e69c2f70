"""Who may update and delete (ITI-57, ITI-62): the exchange's operators, and the organisations they
grant it to. Hospital B, not granted it, is refused with an ebRS AuthorizationException, audited,
and nothing changes; the plain-HTTP port, the operator's own, is allowed."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from organisations.models import Organisation
from registry import errors, models, services
from registry.ebrim.namespaces import RS
from registry.ebrim.read import read_submission
from registry.handlers.iti57 import update_document_set
from registry.handlers.iti62 import delete_document_set
from soap.envelope import Addressing
from soap.messages import SoapRequest, SoapResponse
from tests.conftest import needs_node
from tests.registry import updates
from tests.registry.submissions import CHIP_MOORE, kos_submission
from tests.servers.node import Node
from tests.servers.tls import hospital_a
from tests.soap.messages import SOAP12, WSA

RS_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "rs.xsd"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
AUTHORIZATION = "urn:oasis:names:tc:ebxml-regrep:ErrorType:AuthorizationException"
UPDATE, DELETE = "urn:ihe:iti:2010:UpdateDocumentSet", "urn:ihe:iti:2010:DeleteDocumentSet"


@functools.cache
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(RS_XSD)))


def registered() -> models.DocumentEntry:
    services.patient_identity_register(patient_id=CHIP_MOORE)
    services.submission_register(submission=read_submission(kos_submission()), source="hospital A")
    return models.DocumentEntry.objects.get()


def everything(entry: models.DocumentEntry) -> list[str]:
    """The registered objects' ids: an ITI-62 that removes them all."""
    return [entry.entry_uuid, *models.SubmissionSet.objects.values_list("entry_uuid", flat=True),
            *models.Association.objects.values_list("entry_uuid", flat=True)]


def handled(handler: Callable[[SoapRequest], SoapResponse], action: str, body: etree._Element, *,
            organisation_code: str, remote_addr: str = "10.2.0.10") -> tuple[str, list[tuple[str, str]]]:
    """The request as the SOAP edge hands it over; status and (code, location) of a schema-valid answer."""
    response = handler(SoapRequest(
        endpoint="registry", addressing=Addressing(
            action=action, message_id=f"urn:uuid:{uuid.uuid4()}",
            reply_to="http://hospb.example/xds", to="https://node/xds/registry"),
        body=body, attachments={}, folder=Path("/nonexistent"), remote_addr=remote_addr, mtom=False,
        organisation_code=organisation_code))
    rs_schema().assertValid(response.body)
    return response.body.get("status", ""), [(e.get("errorCode", ""), e.get("location", ""))
                                             for e in response.body.iter(f"{{{RS}}}RegistryError")]


def an_organisation(code: str, *, may_administer_documents: bool) -> Organisation:
    return Organisation.objects.create(code=code, name=code.upper(),
                                       may_administer_documents=may_administer_documents)


def test_the_error_code_is_the_ebrs_authorization_exception() -> None:
    assert errors.AUTHORIZATION == AUTHORIZATION


@pytest.mark.django_db
def test_hospital_b_without_the_permission_may_not_update_and_nothing_changes() -> None:
    an_organisation("hospb", may_administer_documents=False)
    first = registered()
    assert handled(update_document_set, UPDATE, updates.new_version(first), organisation_code="hospb") == (
        FAILURE, [(AUTHORIZATION, "ITI-57 Update Document Set")])
    assert list(models.DocumentEntry.objects.values_list("version", "status")) == [(1, models.APPROVED)]
    assert models.SubmissionSet.objects.count() == 1
    refusal = AuditEvent.objects.get(transaction="ITI-57")
    assert (refusal.outcome, refusal.organisation, refusal.event_id) == (8, "hospb", "110107")
    assert refusal.patient_ids == CHIP_MOORE  # whose documents it tried to change


@pytest.mark.django_db
def test_hospital_b_without_the_permission_may_not_delete_and_nothing_changes() -> None:
    an_organisation("hospb", may_administer_documents=False)
    first = registered()
    assert handled(delete_document_set, DELETE, updates.removal(*everything(first)),
                   organisation_code="hospb") == (FAILURE, [(AUTHORIZATION, "ITI-62 Delete Document Set")])
    assert models.DocumentEntry.objects.filter(entry_uuid=first.entry_uuid).exists()
    refusal = AuditEvent.objects.get(transaction="ITI-62")
    assert (refusal.outcome, refusal.organisation, refusal.event_id) == (8, "hospb", "110110")


@pytest.mark.django_db
def test_an_organisation_the_operators_granted_it_may_update_and_delete() -> None:
    an_organisation("hieops", may_administer_documents=True)
    first = registered()
    assert handled(update_document_set, UPDATE, updates.new_version(first), organisation_code="hieops") == (
        SUCCESS, [])
    assert handled(delete_document_set, DELETE, updates.removal(*everything(first)),
                   organisation_code="hieops") == (SUCCESS, [])
    assert not models.DocumentEntry.objects.filter(entry_uuid=first.entry_uuid).exists()


@pytest.mark.django_db
def test_an_inactive_organisation_loses_the_permission() -> None:
    an_organisation("hieops", may_administer_documents=True)
    Organisation.objects.filter(code="hieops").update(active=False)
    first = registered()
    status, _ = handled(update_document_set, UPDATE, updates.new_version(first), organisation_code="hieops")
    assert status == FAILURE


@pytest.mark.django_db
def test_the_plain_http_port_is_the_operator_s_and_may_update_and_delete() -> None:
    first = registered()
    assert handled(update_document_set, UPDATE, updates.new_version(first), organisation_code="",
                   remote_addr="127.0.0.1") == (SUCCESS, [])
    assert handled(delete_document_set, DELETE, updates.removal(*everything(first)),
                   organisation_code="", remote_addr="::1") == (SUCCESS, [])


@pytest.mark.django_db
def test_the_plain_http_port_opened_to_other_machines_does_not_administer() -> None:
    first = registered()

    status, found = handled(update_document_set, UPDATE, updates.new_version(first), organisation_code="",
                            remote_addr="10.2.0.10")

    assert (status, [code for code, _ in found]) == (FAILURE, [AUTHORIZATION])
    assert models.DocumentEntry.objects.get().version == 1


@pytest.mark.django_db
def test_registering_is_not_an_administrative_transaction() -> None:
    from registry.handlers.iti42 import register_document_set

    an_organisation("hospb", may_administer_documents=False)
    services.patient_identity_register(patient_id=CHIP_MOORE)
    assert handled(register_document_set, "urn:ihe:iti:2007:RegisterDocumentSet-b", kos_submission(),
                   organisation_code="hospb") == (SUCCESS, [])


# Over HTTPS, with hospital A's client certificate (ITI-19), through the real webtls process.

@pytest.fixture
def webtls(tls_node: Node) -> Node:
    return tls_node.start("webtls")


def post_over_https(webtls: Node, exchange_ca: DemoCertificates, action: str,
                    body: etree._Element) -> etree._Element:
    envelope = (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
                f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
                f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
                "<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address>"
                "</wsa:ReplyTo><wsa:To>https://localhost/xds/registry</wsa:To></s:Header>"
                f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>").encode()
    response = httpx.post(f"{webtls.https_url}/xds/registry", content=envelope, timeout=60,
                          headers={"Content-Type": "application/soap+xml; charset=utf-8"},
                          verify=hospital_a(exchange_ca))
    assert response.status_code == 200, response.text
    answer = etree.fromstring(response.content).find(f"{{{SOAP12}}}Body/{{{RS}}}RegistryResponse")
    assert answer is not None, response.text
    rs_schema().assertValid(answer)
    return answer


def on_the_tls_node(test: Callable[..., object]) -> Callable[..., object]:
    for mark in reversed(needs_node):
        test = mark(test)
    return test


@on_the_tls_node
def test_hospital_a_over_https_is_refused_until_the_operators_grant_it(
        webtls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    first = registered()
    answer = post_over_https(webtls, exchange_ca, DELETE, updates.removal(*everything(first)))
    assert answer.get("status") == FAILURE
    assert [e.get("errorCode") for e in answer.iter(f"{{{RS}}}RegistryError")] == [AUTHORIZATION]
    assert models.DocumentEntry.objects.filter(entry_uuid=first.entry_uuid).exists()
    assert AuditEvent.objects.filter(transaction="ITI-62", outcome=8, organisation="hospa").exists()
    Organisation.objects.filter(code="hospa").update(may_administer_documents=True)
    answer = post_over_https(webtls, exchange_ca, DELETE, updates.removal(*everything(first)))
    assert answer.get("status") == SUCCESS
    assert not models.DocumentEntry.objects.exists()
