"""ITI-62 Delete Document Set: the operator removes what hospital A registered by mistake (ITI TF-2b
3.62), through the service and through the real web process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from audit.models import AuditEvent
from registry import errors, models, services
from registry.errors import RegistryErrors
from registry.handlers.iti62 import delete_document_set
from soap.envelope import Addressing
from soap.faults import SoapFault
from soap.messages import SoapRequest
from tests.registry import updates
from tests.registry.submissions import CHIP_MOORE
from tests.registry.test_iti57 import (
    FAILURE,
    OPERATOR,
    RS_XSD,
    SUCCESS,
    codes_of,
    find_documents,
    on_the_node,
    post,
    registered,
)
from tests.servers.node import Node

DELETE = "urn:ihe:iti:2010:DeleteDocumentSet"


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


@pytest.fixture(scope="module")
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(RS_XSD)))


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


def everything(entry: models.DocumentEntry) -> list[str]:
    """The document, its submission set and the HasMember between them."""
    membership = models.Association.objects.get(target_uuid=entry.entry_uuid)
    return [entry.entry_uuid, membership.source_uuid, membership.entry_uuid]


def remove(*entry_uuids: str) -> list[str]:
    return services.objects_remove(entry_uuids=entry_uuids, source=OPERATOR, source_host="10.0.0.5")


def refusal(*entry_uuids: str) -> list[tuple[str, str]]:
    with pytest.raises(RegistryErrors) as refused:
        remove(*entry_uuids)
    return [(e.code, e.location) for e in refused.value.errors]


def test_a_removed_submission_is_gone_from_the_registry_and_its_queries() -> None:
    entry = registered()
    assert remove(*everything(entry)) == [entry.patient_id]
    kinds = (models.SubmissionSet, models.DocumentEntry, models.Association)
    assert not any(m.objects.exists() for m in kinds)
    assert not models.ObjectCode.objects.filter(entry_uuid=entry.entry_uuid).exists()
    assert find_documents() == []
    event = AuditEvent.objects.get(transaction="ITI-62")
    assert (event.event_id, event.outcome, event.patient_ids) == ("110110", 0, entry.patient_id)


def test_an_unknown_id_is_an_unresolved_reference_and_nothing_is_removed() -> None:
    entry = registered()
    unknown = updates.an_unknown_uuid()
    assert refusal(*everything(entry), unknown) == [(errors.UNRESOLVED_REFERENCE, unknown)]
    assert models.DocumentEntry.objects.exists() and models.Association.objects.exists()


def test_a_document_its_submission_set_still_names_is_not_removed() -> None:
    entry = registered()
    membership = models.Association.objects.get()
    assert refusal(entry.entry_uuid) == [(errors.REFERENCES_EXIST, membership.entry_uuid)]
    assert models.DocumentEntry.objects.exists()


def test_an_association_alone_may_be_removed() -> None:
    entry = registered()
    remove(models.Association.objects.get().entry_uuid)
    assert models.DocumentEntry.objects.filter(entry_uuid=entry.entry_uuid).exists()
    assert not models.Association.objects.exists()


def test_a_request_naming_no_object_is_a_sender_fault() -> None:
    request = SoapRequest(endpoint="registry", addressing=Addressing(
                              action=DELETE, message_id="urn:uuid:1", reply_to=None, to=None),
                          body=updates.removal(), attachments={}, folder=Path("/nonexistent"),
                          remote_addr="10.0.0.5", mtom=False)
    with pytest.raises(SoapFault):
        delete_document_set(request)


@on_the_node
def test_the_operator_deletes_a_document_over_soap(web: Node, rs_schema: etree.XMLSchema) -> None:
    entry = registered()
    answer = post(web, rs_schema, DELETE, updates.removal(*everything(entry)))
    assert answer.get("status") == SUCCESS, codes_of(answer)
    assert not models.DocumentEntry.objects.exists()
    assert find_documents() == []
    assert AuditEvent.objects.filter(transaction="ITI-62", outcome=0, event_id="110110").exists()


@on_the_node
def test_refusals_over_soap_carry_their_codes(web: Node, rs_schema: etree.XMLSchema) -> None:
    entry = registered()
    answer = post(web, rs_schema, DELETE, updates.removal(updates.an_unknown_uuid()))
    assert (answer.get("status"), codes_of(answer)) == (FAILURE, [errors.UNRESOLVED_REFERENCE])
    answer = post(web, rs_schema, DELETE, updates.removal(entry.entry_uuid))
    assert (answer.get("status"), codes_of(answer)) == (FAILURE, [errors.REFERENCES_EXIST])
    assert AuditEvent.objects.filter(transaction="ITI-62", outcome=8).count() == 2
    assert models.DocumentEntry.objects.exists()
