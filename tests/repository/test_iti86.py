"""ITI-86 Remove Documents: the exchange's operators remove a document's bytes on the plain-HTTP
port; an organisation they did not grant it to is refused and nothing is removed."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from lxml import etree

from audit.models import AuditEvent
from organisations.models import Organisation
from registry import errors as registry_errors
from registry import models, services
from registry.ebrim.namespaces import FAILURE, PARTIAL_SUCCESS, RS, SUCCESS
from repository import errors, store
from repository.handlers.iti86 import remove_documents
from repository.models import Document
from soap.envelope import Addressing
from soap.messages import SoapRequest
from tests.conftest import needs_node
from tests.registry.submissions import CHIP_MOORE
from tests.repository.provide import (
    document_requests,
    document_unique_ids,
    errors_of,
    post,
    provide_request,
    soap_request,
    stored_keys,
    text_submission,
)

pytestmark = needs_node
ACTION = "urn:ihe:iti:2017:RemoveDocuments"
REMOVE = "{urn:ihe:iti:rmd:2017}RemoveDocumentsRequest"
REPORT = b"CT chest: no acute findings.\n"
UNKNOWN = "1.3.6.1.4.1.21367.13.20.1000.9.404"


@pytest.fixture
def provided(client: httpx.Client, rs_schema: etree.XMLSchema, db: None) -> dict[str, str]:
    """Hospital A's two documents, provided by ITI-41: their uniqueIds by symbolic id."""
    services.patient_identity_register(patient_id=CHIP_MOORE)
    submit = text_submission(documents=2)
    answer = post(client, provide_request(submit, {"Document01": REPORT, "Document02": REPORT[::-1]}),
                  rs_schema)
    assert answer.get("status") == SUCCESS, errors_of(answer)
    return document_unique_ids(submit)


def remove(client: httpx.Client, schema: etree.XMLSchema, *unique_ids: str) -> etree._Element:
    body = document_requests(REMOVE, [(settings.REPOSITORY_UNIQUE_ID, u) for u in unique_ids])
    return post(client, soap_request(body, action=ACTION, as_mtom=False), schema, action=ACTION)


def test_the_operator_removes_a_document_s_bytes_and_its_record(
        client: httpx.Client, rs_schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    doomed = Document.objects.get(unique_id=provided["Document01"])
    answer = remove(client, rs_schema, provided["Document01"])
    assert (answer.get("status"), errors_of(answer)) == (SUCCESS, [])
    assert not Document.objects.filter(unique_id=provided["Document01"]).exists()
    assert not store.store_exists(doomed.key)
    assert stored_keys() == [Document.objects.get(unique_id=provided["Document02"]).key]
    # The metadata stays: it goes by ITI-62 (ITI TF-2b 3.86.1).
    assert models.DocumentEntry.objects.filter(unique_id=provided["Document01"]).exists()
    event = AuditEvent.objects.get(transaction="ITI-86")
    assert (event.event_id, event.action_code, event.outcome, event.patient_ids) == (
        "110110", "D", 0, CHIP_MOORE)


def test_an_unknown_unique_id_is_an_error_of_its_own(
        client: httpx.Client, rs_schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    answer = remove(client, rs_schema, UNKNOWN)
    assert (answer.get("status"), errors_of(answer)) == (
        FAILURE, [(errors.DOCUMENT_UNIQUE_ID_ERROR, UNKNOWN)])
    assert len(stored_keys()) == 2
    assert AuditEvent.objects.get(transaction="ITI-86").outcome == 8
    answer = remove(client, rs_schema, provided["Document02"], UNKNOWN)
    assert (answer.get("status"), errors_of(answer)) == (
        PARTIAL_SUCCESS, [(errors.DOCUMENT_UNIQUE_ID_ERROR, UNKNOWN)])
    assert list(Document.objects.values_list("unique_id", flat=True)) == [provided["Document01"]]


def handled(body: etree._Element, *, organisation_code: str) -> etree._Element:
    """The request as the HTTPS edge hands it over for a client certificate's organisation."""
    return remove_documents(SoapRequest(
        endpoint="repository", addressing=Addressing(
            action=ACTION, message_id=f"urn:uuid:{uuid.uuid4()}",
            reply_to="http://hospb.example/xds", to="https://node/xds/repository"),
        body=body, attachments={}, folder=Path("/nonexistent"), remote_addr="10.2.0.10", mtom=False,
        organisation_code=organisation_code)).body


def test_hospital_b_without_the_permission_may_not_remove_and_nothing_is_removed(
        rs_schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    Organisation.objects.create(code="hospb", name="Hospital B", may_administer_documents=False)
    held = stored_keys()
    answer = handled(document_requests(REMOVE, [(settings.REPOSITORY_UNIQUE_ID, provided["Document01"])]),
                     organisation_code="hospb")
    rs_schema.assertValid(answer)
    assert answer.get("status") == FAILURE
    assert [(e.get("errorCode"), e.get("location")) for e in answer.iter(f"{{{RS}}}RegistryError")] == [
        (registry_errors.AUTHORIZATION, "ITI-86 Remove Documents")]
    assert Document.objects.count() == 2 and stored_keys() == held
    refusal = AuditEvent.objects.get(transaction="ITI-86")
    assert (refusal.outcome, refusal.organisation, refusal.event_id) == (8, "hospb", "110110")


def test_an_organisation_the_operators_granted_it_may_remove(
        rs_schema: etree.XMLSchema, provided: dict[str, str]) -> None:
    Organisation.objects.create(code="hieops", name="HIE operations", may_administer_documents=True)
    answer = handled(document_requests(REMOVE, [(settings.REPOSITORY_UNIQUE_ID, provided["Document01"])]),
                     organisation_code="hieops")
    rs_schema.assertValid(answer)
    assert answer.get("status") == SUCCESS
    assert list(Document.objects.values_list("unique_id", flat=True)) == [provided["Document02"]]
    assert stored_keys() == [Document.objects.get().key]
