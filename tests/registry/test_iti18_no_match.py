"""ITI-18 that matches nothing: hospital B's radiologist asks about a patient with no documents, or
for documents the registry does not hold. The answer is Success with an empty, schema-valid
RegistryObjectList (ITI TF-2a 3.18.4.1.3), never an error."""

from __future__ import annotations

import pytest
from lxml import etree

from registry.ebrim.namespaces import RIM, RS
from tests.registry.factories import AFFINITY, JANE, JOHN, a_document, a_patient, a_uuid, ask, stored_query

pytestmark = pytest.mark.django_db
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
APPROVED_ONLY = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"


def assert_empty_success(response: etree._Element) -> None:
    """`ask` has already validated the response against query.xsd."""
    assert response.get("status") == SUCCESS
    assert response.find(f"{{{RS}}}RegistryErrorList") is None
    listing = response.find(f"{{{RIM}}}RegistryObjectList")
    assert listing is not None and len(listing) == 0


@pytest.mark.parametrize("return_type", ["LeafClass", "ObjectRef"])
def test_find_documents_for_a_patient_with_no_documents_is_an_empty_success(return_type: str) -> None:
    a_patient(JOHN)
    a_document(patient=JANE)
    assert_empty_success(ask(stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'{JOHN}'", "$XDSDocumentEntryStatus": APPROVED_ONLY},
        return_type=return_type)))


def test_find_documents_for_a_patient_id_never_fed_is_an_empty_success() -> None:
    assert_empty_success(ask(stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'E0404^^^{AFFINITY}'", "$XDSDocumentEntryStatus": APPROVED_ONLY})))


def test_find_documents_whose_filters_match_nothing_is_an_empty_success() -> None:
    a_document(patient=JANE)
    assert_empty_success(ask(stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'{JANE}'", "$XDSDocumentEntryStatus": APPROVED_ONLY,
        "$XDSDocumentEntryCreationTimeFrom": "2099"})))


@pytest.mark.parametrize("return_type", ["LeafClass", "ObjectRef"])
def test_get_documents_for_entry_uuids_the_registry_does_not_hold_is_an_empty_success(
        return_type: str) -> None:
    a_document(patient=JANE)
    assert_empty_success(ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": f"('{a_uuid()}', '{a_uuid()}')"}, return_type=return_type)))


def test_get_documents_for_a_unique_id_the_registry_does_not_hold_is_an_empty_success() -> None:
    a_document(patient=JANE)
    assert_empty_success(ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryUniqueId": "('1.3.6.1.4.1.21367.13.20.1000.404')"})))
