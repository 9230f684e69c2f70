"""ITI-18 stored queries read in few SELECTs: a patient's merged IDs, the single-patient check and
a SubmissionSet's HasMembers come with the rows they belong to, not in reads of their own."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from lxml import etree

from registry import queries
from registry.ebrim.query import read_query
from registry.selectors import Found
from tests.registry.factories import (
    AFFINITY,
    JANE,
    JANE_OLD,
    JOHN,
    a_document,
    a_folder,
    a_patient,
    a_submission,
    a_submission_set,
    ask,
    error_codes,
    ids_in,
    stored_query,
)

pytestmark = pytest.mark.django_db
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_SUBMISSION_SET_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
GET_ALL = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
SOAP12, WSA = "http://www.w3.org/2003/05/soap-envelope", "http://www.w3.org/2005/08/addressing"
APPROVED = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"
# Jane's oldest ID, merged into JANE_OLD before JANE_OLD was merged into hers.
JANE_OLDEST = f"E098^^^{AFFINITY}"


def run(query_id: str, slots: dict[str, str | list[str]]) -> list[Found]:
    parsed = read_query(etree.fromstring(stored_query(query_id, slots)))
    return queries.run(parsed.query_id, parsed.slots, leaf=True, limit=settings.REGISTRY_MAX_RESULTS)


def find_for(patient_id: str) -> list[str]:
    return sorted(f.entry_uuid for f in run(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'{patient_id}'", "$XDSDocumentEntryStatus": APPROVED}))


def test_find_documents_reads_the_patient_its_merged_ids_and_the_entries_in_one_select(
        django_assert_num_queries: Any) -> None:
    a_patient(JANE_OLD, merged_into=JANE)
    old, new = a_document(patient=JANE_OLD), a_document()
    with django_assert_num_queries(1):
        found = find_for(JANE)
    assert found == sorted([old.entry_uuid, new.entry_uuid])


def test_a_chain_of_merges_is_followed_to_the_surviving_id() -> None:
    a_patient(JANE_OLDEST, merged_into=JANE_OLD)
    a_patient(JANE_OLD, merged_into=JANE)
    oldest, old, new = a_document(patient=JANE_OLDEST), a_document(patient=JANE_OLD), a_document()
    assert find_for(JANE) == sorted([oldest.entry_uuid, old.entry_uuid, new.entry_uuid])
    assert find_for(JANE_OLD) == []
    assert find_for(JANE_OLDEST) == []


def test_a_patient_id_the_feed_never_named_still_finds_its_own_entries() -> None:
    unfed = f"E300^^^{AFFINITY}"
    mine = a_document(patient=unfed)
    assert find_for(unfed) == [mine.entry_uuid]


def test_get_all_covers_a_chain_of_merges_for_every_kind_of_object() -> None:
    a_patient(JANE_OLDEST, merged_into=JANE_OLD)
    a_patient(JANE_OLD, merged_into=JANE)
    document, folder = a_document(patient=JANE_OLDEST), a_folder(patient=JANE_OLDEST)
    submission_set = a_submission_set(patient=JANE_OLDEST)
    found = ids_in(ask(stored_query(GET_ALL, {
        "$patientId": f"'{JANE}'", "$XDSDocumentEntryStatus": APPROVED,
        "$XDSSubmissionSetStatus": APPROVED, "$XDSFolderStatus": APPROVED})))
    assert {document.entry_uuid, folder.entry_uuid, submission_set.entry_uuid} <= set(found)


def test_get_documents_of_one_patient_needs_no_merge_lookup(django_assert_num_queries: Any) -> None:
    first, second = a_document(), a_document()
    with django_assert_num_queries(1):
        found = run(GET_DOCUMENTS, {
            "$XDSDocumentEntryEntryUUID": f"('{first.entry_uuid}','{second.entry_uuid}')"})
    assert sorted(f.entry_uuid for f in found) == sorted([first.entry_uuid, second.entry_uuid])


def test_get_documents_under_ids_merged_along_a_chain_are_one_patient() -> None:
    a_patient(JANE_OLD, merged_into=JANE)
    old, new = a_document(patient=JANE_OLD), a_document()
    response = ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": f"('{old.entry_uuid}','{new.entry_uuid}')"}))
    assert error_codes(response) == [] and len(ids_in(response)) == 2


def test_get_documents_of_two_patients_is_still_not_single_patient() -> None:
    janes, johns = a_document(), a_document(patient=JOHN)
    response = ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": f"('{janes.entry_uuid}','{johns.entry_uuid}')"}))
    assert error_codes(response) == ["XDSResultNotSinglePatient"]


def test_get_submission_set_and_contents_of_documents_only_reads_two_selects(
        django_assert_num_queries: Any) -> None:
    submission_set, members = a_submission(a_document(), a_document())
    with django_assert_num_queries(2):  # the set; its HasMembers joined to their entries
        found = run(GET_SUBMISSION_SET_AND_CONTENTS, {
            "$XDSSubmissionSetEntryUUID": f"'{submission_set.entry_uuid}'"})
    assert len(found) == 5 and {m.entry_uuid for m in members} <= {f.entry_uuid for f in found}


def test_get_submission_set_and_contents_returns_a_folder_filed_by_the_set() -> None:
    manifest, folder = a_document(), a_folder()
    submission_set, members = a_submission(manifest, folder=folder)
    found = ids_in(ask(stored_query(GET_SUBMISSION_SET_AND_CONTENTS, {
        "$XDSSubmissionSetEntryUUID": f"'{submission_set.entry_uuid}'"})))
    assert found[:3] == [submission_set.entry_uuid, manifest.entry_uuid, folder.entry_uuid]
    assert sorted(found[3:]) == sorted(m.entry_uuid for m in members)



def test_a_query_over_http_makes_no_temporary_folder(client: Any, settings: Any, tmp_path: Any) -> None:
    settings.SOAP_TEMP_DIR = tmp_path / "soap"
    document = a_document()
    body = stored_query(GET_DOCUMENTS, {"$XDSDocumentEntryEntryUUID": f"('{document.entry_uuid}')"})
    response = client.post("/xds/registry", data=_envelope(body), HTTP_HOST="localhost",
                           content_type=f'application/soap+xml; charset=utf-8; action="{ITI18}"')
    assert response.status_code == 200 and document.entry_uuid.encode() in response.content
    assert not settings.SOAP_TEMP_DIR.exists()


def _envelope(body: bytes) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
            f'<wsa:Action s:mustUnderstand="true">{ITI18}</wsa:Action>'
            "<wsa:MessageID>urn:uuid:6d2e6b4e-2f0c-4a53-9d0e-5b7d0c1e2f3a</wsa:MessageID>"
            "<wsa:To>http://localhost/xds/registry</wsa:To></s:Header><s:Body>").encode() + body + (
            b"</s:Body></s:Envelope>")
