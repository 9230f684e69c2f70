"""ITI-18 against the real web process: a hand-written SOAP 1.2 request, and a zeep consumer
built from the IHE WSDL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import zeep
from lxml import etree
from zeep.transports import Transport

from tests.conftest import needs_node
from tests.registry.factories import (
    JANE,
    a_document,
    a_submission,
    ids_in,
    query_schema,
    stored_query,
)
from tests.servers.node import Node
from tests.soap.messages import SOAP12, envelope

pytestmark = needs_node
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
APPROVED = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"
WSDL = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "iti18.wsdl"
BINDING = "{urn:ihe:iti:xds-b:2007}DocumentRegistry_Binding_Soap12"


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


def test_find_documents_over_soap_answers_the_published_manifests(web: Node) -> None:
    manifest = a_document()
    a_submission(manifest)
    body = stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                         "$XDSDocumentEntryStatus": APPROVED}).decode()
    response = httpx.post(f"{web.url}/xds/registry", timeout=60,
                          content=envelope(body, action="urn:ihe:iti:2007:RegistryStoredQuery"),
                          headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    action = root.find(f"{{{SOAP12}}}Header/{{http://www.w3.org/2005/08/addressing}}Action")
    assert action is not None and action.text == "urn:ihe:iti:2007:RegistryStoredQueryResponse"
    answer = root.find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
    query_schema().assertValid(answer)
    assert ids_in(answer) == [manifest.entry_uuid]


def test_a_zeep_consumer_built_from_the_ihe_wsdl_finds_the_documents(web: Node) -> None:
    manifests = [a_document(), a_document()]
    a_submission(*manifests)
    # zeep adds the WS-Addressing headers itself: the WSDL names the wsam:Action. It does not
    # resolve the rim:Identifiable substitution group, so the objects come back as raw elements.
    client = zeep.Client(str(WSDL), transport=Transport(session=requests.Session(), timeout=60),
                         settings=zeep.Settings(strict=False))
    service = client.create_service(BINDING, f"{web.url}/xds/registry")
    slots = [{"name": "$XDSDocumentEntryPatientId", "ValueList": {"_value_1": [{"Value": f"'{JANE}'"}]}},
             {"name": "$XDSDocumentEntryStatus", "ValueList": {"_value_1": [{"Value": APPROVED}]}}]
    answer = service.DocumentRegistry_RegistryStoredQuery(
        ResponseOption={"returnType": "LeafClass", "returnComposedObjects": True},
        AdhocQuery={"id": FIND_DOCUMENTS, "Slot": slots})
    assert answer.status == "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    found = [obj.get("id") for obj in answer.RegistryObjectList._raw_elements]
    assert found == [m.entry_uuid for m in manifests]
