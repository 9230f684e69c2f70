"""ITI-43 through the real web process: the radiologist's system retrieves the documents hospital A
provided, as MTOM parts byte for byte, and learns which uniqueIds the repository does not hold."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings
from lxml import etree

from audit.models import AuditEvent
from registry import services
from registry.ebrim.namespaces import FAILURE, PARTIAL_SUCCESS, RS, SUCCESS
from repository import errors, store
from repository.models import Document
from soap.client import make_client
from soap.namespaces import XOP
from tests.conftest import needs_node
from tests.registry.submissions import CHIP_MOORE
from tests.repository.provide import (
    SCHEMAS,
    X,
    document_requests,
    document_unique_ids,
    errors_of,
    extrinsic,
    mime_parts,
    post,
    provide_request,
    soap_request,
    text_submission,
    xdsb_schema,
    xop_infoset,
)
from tests.servers.node import Node
from tests.soap.messages import SOAP12

pytestmark = needs_node
ACTION = "urn:ihe:iti:2007:RetrieveDocumentSet"
WSDL = SCHEMAS.parent / "iti43.wsdl"
BINDING = "{urn:ihe:iti:xds-b:2007}DocumentRepository_Binding_Soap12"
REPORT = b"CT chest: no acute findings.\n"
OTHER_REPORT = bytes(range(256)) * 64  # every byte value, so nothing is text-mangled
OTHER_REPOSITORY = "1.3.6.1.4.1.21367.13.20.1000.1"


@pytest.fixture
def provided(client: httpx.Client, rs_schema: etree.XMLSchema, db: None) -> dict[str, str]:
    """Hospital A's two documents, provided by ITI-41: their uniqueIds by symbolic id."""
    services.patient_identity_register(patient_id=CHIP_MOORE)
    submit = text_submission(documents=2)
    extrinsic(submit, "Document02").set("mimeType", "application/octet-stream")
    answer = post(client, provide_request(submit, {"Document01": REPORT, "Document02": OTHER_REPORT}),
                  rs_schema)
    assert answer.get("status") == SUCCESS, errors_of(answer)
    return document_unique_ids(submit)


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    return xdsb_schema()


def retrieve(client: httpx.Client, schema: etree.XMLSchema, wanted: list[tuple[str, str]]
             ) -> tuple[etree._Element, dict[str, bytes]]:
    """The RetrieveDocumentSetResponse, valid against IHEXDSB.xsd once its xop:Includes are
    replaced by their parts (the XOP infoset), and the parts by Content-ID."""
    request = soap_request(document_requests(X + "RetrieveDocumentSetRequest", wanted), action=ACTION)
    response = client.post("/xds/repository", content=request.body,
                           headers={"Content-Type": request.content_type})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/related")
    [(_, root), *attachments] = mime_parts(response)
    parts = dict(attachments)
    envelope = etree.fromstring(root)
    assert envelope.findtext(f"{{{SOAP12}}}Header/{{http://www.w3.org/2005/08/addressing}}Action") == (
        ACTION + "Response")
    answer = envelope.find(f"{{{SOAP12}}}Body/{X}RetrieveDocumentSetResponse")
    assert answer is not None, root
    schema.assertValid(xop_infoset(answer, parts))
    return answer, parts


def documents_of(answer: etree._Element, parts: dict[str, bytes]) -> dict[str, tuple[str, str, bytes]]:
    """(RepositoryUniqueId, mimeType, bytes) of each DocumentResponse, by DocumentUniqueId."""
    found = {}
    for element in answer.iterfind(X + "DocumentResponse"):
        include = element.find(f"{X}Document/{{{XOP}}}Include")
        assert include is not None
        found[element.findtext(X + "DocumentUniqueId") or ""] = (
            element.findtext(X + "RepositoryUniqueId") or "", element.findtext(X + "mimeType") or "",
            parts[include.get("href", "").removeprefix("cid:")])
    return found


def status_of(answer: etree._Element) -> str:
    registry_response = answer.find(f"{{{RS}}}RegistryResponse")
    assert registry_response is not None
    return registry_response.get("status", "")


def test_the_radiologist_retrieves_two_documents_byte_for_byte(
        client: httpx.Client, schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    ours = settings.REPOSITORY_UNIQUE_ID
    answer, parts = retrieve(client, schema, [(ours, provided["Document01"]),
                                                   (ours, provided["Document02"])])
    assert status_of(answer) == SUCCESS
    assert documents_of(answer, parts) == {
        provided["Document01"]: (ours, "text/plain", REPORT),
        provided["Document02"]: (ours, "application/octet-stream", OTHER_REPORT)}
    event = AuditEvent.objects.get(transaction="ITI-43")
    assert (event.event_id, event.action_code, event.outcome, event.patient_ids) == (
        "110106", "R", 0, CHIP_MOORE)


def test_an_unknown_unique_id_among_known_ones_is_a_partial_success(
        client: httpx.Client, schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    ours = settings.REPOSITORY_UNIQUE_ID
    unknown = "1.3.6.1.4.1.21367.13.20.1000.9.404"
    answer, parts = retrieve(client, schema, [(ours, provided["Document01"]), (ours, unknown)])
    assert status_of(answer) == PARTIAL_SUCCESS
    assert errors_of(answer) == [(errors.DOCUMENT_UNIQUE_ID_ERROR, unknown)]
    assert list(documents_of(answer, parts)) == [provided["Document01"]]
    assert AuditEvent.objects.get(transaction="ITI-43").outcome == 4


def test_another_repository_s_id_is_an_unknown_repository(
        client: httpx.Client, schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    ours = settings.REPOSITORY_UNIQUE_ID
    answer, parts = retrieve(client, schema, [(ours, provided["Document01"]),
                                                   (OTHER_REPOSITORY, provided["Document02"])])
    assert status_of(answer) == PARTIAL_SUCCESS
    assert errors_of(answer) == [(errors.UNKNOWN_REPOSITORY_ID, OTHER_REPOSITORY)]
    assert list(documents_of(answer, parts)) == [provided["Document01"]]


def test_only_unknown_unique_ids_are_a_failure_and_audited_as_one(
        client: httpx.Client, schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    ours = settings.REPOSITORY_UNIQUE_ID
    unknown = ["1.3.6.1.4.1.21367.13.20.1000.9.404", "1.3.6.1.4.1.21367.13.20.1000.9.405"]
    answer, parts = retrieve(client, schema, [(ours, u) for u in unknown])
    assert status_of(answer) == FAILURE
    assert errors_of(answer) == [(errors.DOCUMENT_UNIQUE_ID_ERROR, u) for u in unknown]
    assert (documents_of(answer, parts), parts) == ({}, {})
    event = AuditEvent.objects.get(transaction="ITI-43")
    assert (event.event_id, event.outcome) == ("110106", 8)


def test_a_zeep_consumer_built_from_the_ihe_wsdl_retrieves_a_document(
        web: Node, provided: dict[str, str]) -> None:
    client = make_client(str(WSDL))
    service = client.create_service(BINDING, f"{web.url}/xds/repository")
    answer = service.DocumentRepository_RetrieveDocumentSet(DocumentRequest=[{
        "RepositoryUniqueId": settings.REPOSITORY_UNIQUE_ID,
        "DocumentUniqueId": provided["Document02"]}])
    assert answer.RegistryResponse.status == SUCCESS
    [document] = answer.DocumentResponse
    assert (document.DocumentUniqueId, document.mimeType) == (
        provided["Document02"], "application/octet-stream")
    assert document.Document == OTHER_REPORT


def test_a_document_whose_bytes_were_lost_is_an_error_of_its_own(
        client: httpx.Client, schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    lost, kept = provided["Document01"], provided["Document02"]
    store.store_delete(Document.objects.get(unique_id=lost).key)

    answer, parts = retrieve(client, schema, [(settings.REPOSITORY_UNIQUE_ID, lost),
                                              (settings.REPOSITORY_UNIQUE_ID, kept)])

    registry_response = answer.find(f"{{{RS}}}RegistryResponse")
    assert registry_response is not None
    assert registry_response.get("status") == PARTIAL_SUCCESS
    assert errors_of(answer) == [("XDSRepositoryError", lost)]
    assert list(parts.values()) == [OTHER_REPORT]
