"""ITI-57 Update Document Set: the operator corrects what hospital A registered (ITI TF-2b 3.57),
through the service and through the real web process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from registry import errors, models, services
from registry.ebrim.namespaces import RS
from registry.ebrim.read import read_submission
from registry.errors import RegistryErrors
from tests.conftest import needs_node
from tests.registry import updates
from tests.registry.factories import ask, ids_in, stored_query
from tests.registry.submissions import CHIP_MOORE, kos_submission
from tests.servers.node import Node
from tests.soap.messages import SOAP12, WSA

RS_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "rs.xsd"
OPERATOR = "http://operator.hienode.example/document-administrator"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
OTHER_PATIENT = "E1002^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"


def on_the_node(test: Callable[..., Any]) -> Callable[..., Any]:
    for mark in reversed(needs_node):
        test = mark(test)
    return test


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


def registered() -> models.DocumentEntry:
    """Hospital A's KOS manifest, as ITI-42 left it."""
    services.submission_register(submission=read_submission(kos_submission()), source="hospital A")
    return models.DocumentEntry.objects.get()


def update(root: etree._Element) -> list[errors.RegistryError]:
    return services.submission_update(submission=read_submission(root), source=OPERATOR,
                                      source_host="10.0.0.5")


def refusal(root: etree._Element) -> list[str]:
    with pytest.raises(RegistryErrors) as refused:
        update(root)
    return [e.code for e in refused.value.errors]


def versions_of(entry: models.DocumentEntry) -> list[tuple[int, str]]:
    return [(d.version, d.status.rsplit(":", 1)[-1])
            for d in models.DocumentEntry.objects.filter(logical_id=entry.logical_id).order_by("version")]


def find_documents() -> list[str]:
    return ids_in(ask(stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'{CHIP_MOORE}'",
        "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"})))


def get_documents_by_lid(lid: str) -> list[tuple[str, str, str]]:
    answer = ask(stored_query(GET_DOCUMENTS, {"$XDSDocumentEntryLogicalID": f"('{lid}')"}))
    return sorted((e.get("id", ""), e.get("status", "").rsplit(":", 1)[-1],
                   e.find("{*}VersionInfo").get("versionName", ""))  # type: ignore[union-attr]
                  for e in answer.iter("{*}ExtrinsicObject"))


def test_a_new_version_is_approved_and_deprecates_the_one_it_replaces() -> None:
    first = registered()
    assert update(updates.new_version(first)) == []
    assert versions_of(first) == [(1, "Deprecated"), (2, "Approved")]
    second = models.DocumentEntry.objects.get(logical_id=first.logical_id, version=2)
    assert second.entry_uuid != first.entry_uuid and second.unique_id == first.unique_id
    assert "CT chest, corrected" in second.ebrim and 'versionName="2"' in second.ebrim
    assert get_documents_by_lid(first.logical_id) == sorted([
        (first.entry_uuid, "Deprecated", "1"), (second.entry_uuid, "Approved", "2")])
    assert find_documents() == [second.entry_uuid]
    event = AuditEvent.objects.get(transaction="ITI-57")
    assert (event.event_id, event.outcome, event.patient_ids) == ("110107", 0, CHIP_MOORE)


def test_a_third_version_follows_the_second() -> None:
    first = registered()
    update(updates.new_version(first))
    second = models.DocumentEntry.objects.get(version=2)
    update(updates.new_version(second, title="CT chest, twice corrected"))
    assert versions_of(first) == [(1, "Deprecated"), (2, "Deprecated"), (3, "Approved")]


def test_only_the_latest_version_may_be_updated() -> None:
    first = registered()
    update(updates.new_version(first))
    assert refusal(updates.new_version(first)) == [errors.METADATA_VERSION]
    assert versions_of(first) == [(1, "Deprecated"), (2, "Approved")]


def test_a_previous_version_that_is_not_the_stored_one_is_refused() -> None:
    first = registered()
    assert refusal(updates.new_version(first, previous_version="7")) == [errors.METADATA_VERSION]


def test_a_new_version_without_previous_version_is_refused() -> None:
    first = registered()
    root = updates.new_version(first)
    for slot in root.iter("{*}Slot"):
        if slot.get("name") == "PreviousVersion":
            slot.getparent().remove(slot)  # type: ignore[union-attr]
    assert refusal(root) == [errors.METADATA_UPDATE]


def test_a_first_version_is_not_an_update() -> None:
    registered()
    assert refusal(kos_submission()) == [errors.METADATA_UPDATE]


def test_a_lid_the_registry_does_not_know_is_refused() -> None:
    first = registered()
    first.logical_id = f"urn:uuid:{uuid.uuid4()}"
    assert refusal(updates.new_version(first)) == [errors.METADATA_UPDATE]


def test_a_new_version_may_not_change_the_document_s_size() -> None:
    first = registered()
    root = updates.new_version(first)
    from tests.registry.submissions import set_slot

    set_slot(root, "size", "37")
    assert refusal(root) == [errors.METADATA_UPDATE]


def test_a_misidentified_study_moves_to_the_right_patient() -> None:
    services.patient_identity_register(patient_id=OTHER_PATIENT)
    first = registered()
    assert update(updates.new_version(first, patient_id=OTHER_PATIENT)) == []
    assert models.DocumentEntry.objects.get(version=2).patient_id == OTHER_PATIENT


def test_a_patient_change_of_a_folder_s_member_is_refused() -> None:
    services.patient_identity_register(patient_id=OTHER_PATIENT)
    from tests.registry.submissions import add_folder

    root = kos_submission()
    add_folder(root)
    services.submission_register(submission=read_submission(root), source="hospital A")
    first = models.DocumentEntry.objects.get()
    assert refusal(updates.new_version(first, patient_id=OTHER_PATIENT)) == [errors.PATIENT_ID_RECONCILIATION]


def test_the_operator_deprecates_and_approves_again() -> None:
    first = registered()
    approved, deprecated = models.APPROVED, models.DEPRECATED
    assert update(updates.status_change(first.entry_uuid, approved, deprecated)) == []
    first.refresh_from_db()
    assert first.status == deprecated and f'status="{deprecated}"' in first.ebrim
    assert find_documents() == []
    update(updates.status_change(first.entry_uuid, deprecated, approved))
    assert find_documents() == [first.entry_uuid]
    assert models.DocumentEntry.objects.get().version == 1


def test_a_status_change_from_a_status_the_entry_does_not_have_is_refused() -> None:
    first = registered()
    root = updates.status_change(first.entry_uuid, models.DEPRECATED, models.APPROVED)
    assert refusal(root) == [errors.METADATA_UPDATE_OPERATION]


def test_a_status_change_of_an_older_version_is_refused() -> None:
    first = registered()
    update(updates.new_version(first))
    root = updates.status_change(first.entry_uuid, models.DEPRECATED, models.APPROVED)
    assert refusal(root) == [errors.METADATA_VERSION]


def test_a_refused_update_changes_nothing() -> None:
    first = registered()
    root = updates.new_version(first, previous_version="2")
    before = (models.SubmissionSet.objects.count(), models.Association.objects.count())
    assert refusal(root) == [errors.METADATA_VERSION]
    assert (models.SubmissionSet.objects.count(), models.Association.objects.count()) == before
    assert versions_of(first) == [(1, "Approved")]


# Through the real web process.

@pytest.fixture(scope="module")
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(RS_XSD)))


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


def post(web: Node, schema: etree.XMLSchema, action: str, body: etree._Element) -> etree._Element:
    """POST the Document Administrator's request; the rs:RegistryResponse, valid against rs.xsd."""
    envelope = (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
                f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
                f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
                "<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address>"
                "</wsa:ReplyTo>"
                f"<wsa:To>http://localhost/xds/registry</wsa:To></s:Header>"
                f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>").encode()
    response = httpx.post(f"{web.url}/xds/registry", content=envelope, timeout=60,
                          headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    assert root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") == action + "Response"
    answer = root.find(f"{{{SOAP12}}}Body/{{{RS}}}RegistryResponse")
    assert answer is not None, response.text
    schema.assertValid(answer)
    return answer


def codes_of(answer: etree._Element) -> list[str]:
    return [e.get("errorCode", "") for e in answer.iter(f"{{{RS}}}RegistryError")]


UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"


@on_the_node
def test_the_operator_updates_a_document_over_soap(web: Node, rs_schema: etree.XMLSchema) -> None:
    first = registered()
    answer = post(web, rs_schema, UPDATE, updates.new_version(first))
    assert answer.get("status") == SUCCESS, codes_of(answer)
    second = models.DocumentEntry.objects.get(logical_id=first.logical_id, version=2)
    assert get_documents_by_lid(first.logical_id) == sorted([
        (first.entry_uuid, "Deprecated", "1"), (second.entry_uuid, "Approved", "2")])
    assert find_documents() == [second.entry_uuid]
    assert AuditEvent.objects.filter(transaction="ITI-57", outcome=0).exists()


@on_the_node
def test_a_stale_update_over_soap_fails_with_its_code(web: Node, rs_schema: etree.XMLSchema) -> None:
    first = registered()
    answer = post(web, rs_schema, UPDATE, updates.new_version(first, previous_version="3"))
    assert (answer.get("status"), codes_of(answer)) == (FAILURE, [errors.METADATA_VERSION])
    assert AuditEvent.objects.filter(transaction="ITI-57", outcome=8).exists()


@on_the_node
def test_a_status_change_over_soap(web: Node, rs_schema: etree.XMLSchema) -> None:
    first = registered()
    root = updates.status_change(first.entry_uuid, models.APPROVED, models.DEPRECATED)
    assert post(web, rs_schema, UPDATE, root).get("status") == SUCCESS
    first.refresh_from_db()
    assert first.status == models.DEPRECATED
