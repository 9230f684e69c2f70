"""ITI-18 refusals with the standard's codes, Find* queries of sets and folders, and the audit."""

from __future__ import annotations

import base64

import pytest
from django.test import override_settings

from audit.models import AuditEvent
from tests.registry.factories import (
    JANE,
    a_document,
    a_folder,
    a_submission_set,
    ask,
    error_codes,
    ids_in,
    status_of,
    stored_query,
)

pytestmark = pytest.mark.django_db
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
FIND_FOLDERS = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
APPROVED = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"


def refused(query_id: str, slots: dict[str, str | list[str]]) -> list[str]:
    response = ask(stored_query(query_id, slots))
    assert status_of(response) == "Failure" and ids_in(response) == []
    return error_codes(response)


def test_an_unknown_query_id_is_xds_unknown_stored_query() -> None:
    assert refused("urn:uuid:00000000-0000-4000-8000-000000000000", {}) == ["XDSUnknownStoredQuery"]


def test_find_documents_without_status_is_a_missing_param() -> None:
    assert refused(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'"}) == [
        "XDSStoredQueryMissingParam"]


def test_find_documents_without_patient_is_a_missing_param() -> None:
    assert refused(FIND_DOCUMENTS, {"$XDSDocumentEntryStatus": APPROVED}) == ["XDSStoredQueryMissingParam"]


def test_a_patient_id_given_twice_is_a_param_number_error() -> None:
    assert refused(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"('{JANE}', 'E2^^^&1.2&ISO')",
                                    "$XDSDocumentEntryStatus": APPROVED}) == ["XDSStoredQueryParamNumber"]


def test_get_documents_by_entry_uuid_and_unique_id_at_once_is_a_param_number_error() -> None:
    assert refused(GET_DOCUMENTS, {"$XDSDocumentEntryEntryUUID": "('urn:uuid:a')",
                                   "$XDSDocumentEntryUniqueId": "('1.2.3')"}) == ["XDSStoredQueryParamNumber"]


def test_get_documents_with_neither_id_is_a_missing_param() -> None:
    assert refused(GET_DOCUMENTS, {}) == ["XDSStoredQueryMissingParam"]


def test_a_malformed_time_is_a_registry_error() -> None:
    assert refused(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                    "$XDSDocumentEntryStatus": APPROVED,
                                    "$XDSDocumentEntryCreationTimeFrom": "2024-01-01"}) == [
        "XDSRegistryError"]


def test_an_unclosed_quote_is_a_registry_error() -> None:
    assert refused(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}",
                                    "$XDSDocumentEntryStatus": APPROVED}) == ["XDSRegistryError"]


def test_a_metadata_level_other_than_1_or_2_is_a_registry_error() -> None:
    assert refused(GET_DOCUMENTS, {"$XDSDocumentEntryUniqueId": "('1.2.3')",
                                   "$MetadataLevel": "3"}) == ["XDSRegistryError"]


@override_settings(REGISTRY_MAX_RESULTS=2)
def test_more_results_than_the_registry_returns_is_too_many_results() -> None:
    for _ in range(3):
        a_document()
    assert refused(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                    "$XDSDocumentEntryStatus": APPROVED}) == ["XDSTooManyResults"]


def test_find_submission_sets_by_source_time_author_and_content_type() -> None:
    early = a_submission_set(submission_time="20240101")
    late = a_submission_set(source_id="1.3.6.1.4.1.21367.13.20.2000", submission_time="20240301",
                            authors=("^Jones^Ann^^^",), content_type=("CT", "s"))

    def find(**extra: str) -> list[str]:
        return ids_in(ask(stored_query(FIND_SUBMISSION_SETS, {
            "$XDSSubmissionSetPatientId": f"'{JANE}'", "$XDSSubmissionSetStatus": APPROVED, **extra})))

    assert find() == [early.entry_uuid, late.entry_uuid]
    assert find(**{"$XDSSubmissionSetSourceId": "('1.3.6.1.4.1.21367.13.20.2000')"}) == [late.entry_uuid]
    assert find(**{"$XDSSubmissionSetSubmissionTimeFrom": "202402"}) == [late.entry_uuid]
    assert find(**{"$XDSSubmissionSetSubmissionTimeTo": "202402"}) == [early.entry_uuid]
    assert find(**{"$XDSSubmissionSetAuthorPerson": "'%Jones%'"}) == [late.entry_uuid]
    assert find(**{"$XDSSubmissionSetContentType": "('CT^^^s')"}) == [late.entry_uuid]


def test_find_folders_by_last_update_time_and_code_list() -> None:
    ct = a_folder(last_update_time="20240101")
    mr = a_folder(last_update_time="20240301", codes=(("MR", "s"), ("T-D3000", "SRT")))

    def find(**extra: str | list[str]) -> list[str]:
        return ids_in(ask(stored_query(FIND_FOLDERS, {
            "$XDSFolderPatientId": f"'{JANE}'", "$XDSFolderStatus": APPROVED, **extra})))

    assert find() == [ct.entry_uuid, mr.entry_uuid]
    assert find(**{"$XDSFolderLastUpdateTimeFrom": "20240201"}) == [mr.entry_uuid]
    assert find(**{"$XDSFolderLastUpdateTimeTo": "20240201"}) == [ct.entry_uuid]
    assert find(**{"$XDSFolderCodeList": ["('MR^^^s')", "('T-D3000^^^SRT')"]}) == [mr.entry_uuid]


def test_a_query_is_audited_as_110112_with_the_query_and_the_patient() -> None:
    request = stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'",
                                            "$XDSDocumentEntryStatus": APPROVED})
    ask(request)
    event = AuditEvent.objects.get()
    assert (event.event_id, event.transaction, event.outcome) == ("110112", "ITI-18", 0)
    assert event.patient_ids == JANE
    query_object = event.record["objects"][-1]
    assert query_object["object_id"] == FIND_DOCUMENTS
    assert b"AdhocQueryRequest" in base64.b64decode(query_object["query"])


def test_a_refused_query_is_audited_as_a_minor_failure() -> None:
    ask(stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{JANE}'"}))
    assert AuditEvent.objects.get().outcome == 4
