"""ITI-18 Get* stored queries and GetAll: objects by id, and what they hold or are linked with."""

from __future__ import annotations

import pytest

from registry.models import DEPRECATED, ON_DEMAND
from tests.registry.factories import (
    JANE,
    JANE_OLD,
    JOHN,
    PDF_FORMAT,
    RESTRICTED,
    RPLC,
    a_document,
    a_folder,
    a_patient,
    a_submission,
    a_submission_set,
    an_association,
    ask,
    error_codes,
    ids_in,
    stored_query,
)

pytestmark = pytest.mark.django_db
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_FOLDERS = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_DOCUMENTS_AND_ASSOCIATIONS = "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a"
GET_SUBMISSION_SETS = "urn:uuid:51224314-5390-4169-9b91-b1980040715a"
GET_SUBMISSION_SET_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
GET_FOLDER_AND_CONTENTS = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7"
GET_FOLDERS_FOR_DOCUMENT = "urn:uuid:10cae35a-c7f9-4cf3-b9d8-8fb5c6c3fd6f"
GET_RELATED_DOCUMENTS = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6"
GET_ALL = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3"
APPROVED = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"


def quoted(*values: str) -> str:
    return "(" + ",".join(f"'{v}'" for v in values) + ")"


def test_get_documents_by_entry_uuid_returns_them_whatever_their_status() -> None:
    current, old = a_document(), a_document(status=DEPRECATED)
    a_document()
    found = ids_in(ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": quoted(current.entry_uuid, old.entry_uuid)})))
    assert sorted(found) == sorted([current.entry_uuid, old.entry_uuid])


def test_get_documents_by_unique_id() -> None:
    mine = a_document()
    a_document()
    assert ids_in(ask(stored_query(GET_DOCUMENTS, {"$XDSDocumentEntryUniqueId": quoted(mine.unique_id),
                                                   "$homeCommunityId": "'urn:oid:1.2.3'"}))) == [
        mine.entry_uuid]


def test_get_documents_by_logical_id_returns_every_version() -> None:
    first = a_document(logical_id="urn:uuid:0b3c5d1e-0000-4000-8000-000000000001", status=DEPRECATED)
    second = a_document(logical_id=first.logical_id, version=2)
    found = ids_in(ask(stored_query(GET_DOCUMENTS, {"$XDSDocumentEntryLogicalID": quoted(first.logical_id),
                                                    "$MetadataLevel": "2"})))
    assert found == [first.entry_uuid, second.entry_uuid]


def test_get_documents_of_two_patients_is_not_single_patient() -> None:
    jane, john = a_document(), a_document(patient=JOHN)
    response = ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": quoted(jane.entry_uuid, john.entry_uuid)}))
    assert error_codes(response) == ["XDSResultNotSinglePatient"]
    assert ids_in(response) == []


def test_get_documents_under_a_merged_id_and_its_survivor_are_one_patient() -> None:
    a_patient(JANE_OLD, merged_into=JANE)
    old, new = a_document(patient=JANE_OLD), a_document()
    response = ask(stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": quoted(old.entry_uuid, new.entry_uuid)}))
    assert error_codes(response) == []


def test_get_folders_by_entry_uuid_and_unique_id() -> None:
    folder = a_folder()
    a_folder()
    assert ids_in(ask(stored_query(GET_FOLDERS, {"$XDSFolderEntryUUID": quoted(folder.entry_uuid)}))) == [
        folder.entry_uuid]
    assert ids_in(ask(stored_query(GET_FOLDERS, {"$XDSFolderUniqueId": quoted(folder.unique_id)}))) == [
        folder.entry_uuid]


def test_get_associations_returns_those_with_the_object_at_either_end() -> None:
    original, replacement = a_document(status=DEPRECATED), a_document()
    submission_set, members = a_submission(replacement)
    replaced = an_association(replacement.entry_uuid, original.entry_uuid, kind=RPLC)
    an_association(submission_set.entry_uuid, a_document().entry_uuid)
    found = ids_in(ask(stored_query(GET_ASSOCIATIONS, {"$uuid": quoted(replacement.entry_uuid)})))
    assert sorted(found) == sorted([members[0].entry_uuid, replaced.entry_uuid])


def test_get_associations_answers_their_stored_ebrim() -> None:
    document = a_document()
    _, members = a_submission(document)
    response = ask(stored_query(GET_ASSOCIATIONS, {"$uuid": quoted(document.entry_uuid)}))
    association = response[-1][0]
    assert association.tag.endswith("Association")
    assert association.get("targetObject") == document.entry_uuid == members[0].target_uuid


def test_get_documents_and_associations_returns_both() -> None:
    document = a_document()
    _, members = a_submission(document)
    found = ids_in(ask(stored_query(GET_DOCUMENTS_AND_ASSOCIATIONS, {
        "$XDSDocumentEntryUniqueId": quoted(document.unique_id)})))
    assert found == [document.entry_uuid, members[0].entry_uuid]


def test_get_submission_sets_returns_the_sets_holding_the_documents() -> None:
    document = a_document()
    submission_set, members = a_submission(document)
    a_submission(a_document())
    found = ids_in(ask(stored_query(GET_SUBMISSION_SETS, {"$uuid": quoted(document.entry_uuid)})))
    assert found == [submission_set.entry_uuid, members[0].entry_uuid]


def test_get_submission_set_and_contents_returns_the_set_its_documents_folders_and_links() -> None:
    manifest, report = a_document(), a_document(format_code=PDF_FORMAT)
    folder = a_folder()
    submission_set, members = a_submission(manifest, report, folder=folder)
    a_submission(a_document())
    found = ids_in(ask(stored_query(GET_SUBMISSION_SET_AND_CONTENTS, {
        "$XDSSubmissionSetEntryUUID": f"'{submission_set.entry_uuid}'"})))
    assert found[:4] == [submission_set.entry_uuid, manifest.entry_uuid, report.entry_uuid, folder.entry_uuid]
    assert sorted(found[4:]) == sorted(m.entry_uuid for m in members)


def test_get_submission_set_and_contents_by_unique_id_filters_documents_by_format() -> None:
    manifest, report = a_document(), a_document(format_code=PDF_FORMAT)
    submission_set, members = a_submission(manifest, report)
    found = ids_in(ask(stored_query(GET_SUBMISSION_SET_AND_CONTENTS, {
        "$XDSSubmissionSetUniqueId": f"'{submission_set.unique_id}'",
        "$XDSDocumentEntryFormatCode": "('1.2.840.10008.5.1.4.1.1.88.59^^^1.2.840.10008.2.6.1')"})))
    assert found == [submission_set.entry_uuid, manifest.entry_uuid, members[0].entry_uuid]


def test_get_submission_set_and_contents_filters_by_confidentiality_and_type() -> None:
    normal, restricted = a_document(), a_document(confidentiality=(RESTRICTED,))
    on_demand = a_document(object_type=ON_DEMAND)
    submission_set, _ = a_submission(normal, restricted, on_demand)
    found = ids_in(ask(stored_query(GET_SUBMISSION_SET_AND_CONTENTS, {
        "$XDSSubmissionSetEntryUUID": f"'{submission_set.entry_uuid}'",
        "$XDSDocumentEntryConfidentialityCode": "('R^^^2.16.840.1.113883.5.25')"})))
    assert found[:2] == [submission_set.entry_uuid, restricted.entry_uuid] and len(found) == 3
    found = ids_in(ask(stored_query(GET_SUBMISSION_SET_AND_CONTENTS, {
        "$XDSSubmissionSetEntryUUID": f"'{submission_set.entry_uuid}'",
        "$XDSDocumentEntryType": f"('{ON_DEMAND}')"})))
    assert found[:2] == [submission_set.entry_uuid, on_demand.entry_uuid] and len(found) == 3


def test_get_submission_set_and_contents_of_an_unknown_set_is_empty() -> None:
    response = ask(stored_query(GET_SUBMISSION_SET_AND_CONTENTS, {
        "$XDSSubmissionSetEntryUUID": "'urn:uuid:00000000-0000-4000-8000-000000000000'"}))
    assert ids_in(response) == [] and error_codes(response) == []


def test_get_folder_and_contents_returns_the_folder_its_documents_and_their_links() -> None:
    manifest = a_document()
    folder = a_folder()
    _, members = a_submission(manifest, folder=folder)
    filed = next(m for m in members if m.source_uuid == folder.entry_uuid)
    found = ids_in(ask(stored_query(GET_FOLDER_AND_CONTENTS, {
        "$XDSFolderUniqueId": f"'{folder.unique_id}'"})))
    assert found == [folder.entry_uuid, manifest.entry_uuid, filed.entry_uuid]


def test_get_folders_for_document_returns_the_folders_it_is_filed_in() -> None:
    manifest, folder = a_document(), a_folder()
    a_submission(manifest, folder=folder)
    a_folder()
    found = ids_in(ask(stored_query(GET_FOLDERS_FOR_DOCUMENT, {
        "$XDSDocumentEntryEntryUUID": f"'{manifest.entry_uuid}'"})))
    assert found == [folder.entry_uuid]


def test_get_related_documents_returns_the_document_its_relatives_and_the_links() -> None:
    original, replacement = a_document(status=DEPRECATED), a_document()
    a_submission(replacement)
    replaced = an_association(replacement.entry_uuid, original.entry_uuid, kind=RPLC)
    found = ids_in(ask(stored_query(GET_RELATED_DOCUMENTS, {
        "$XDSDocumentEntryUniqueId": f"'{replacement.unique_id}'", "$AssociationTypes": quoted(RPLC)})))
    assert found == [replacement.entry_uuid, original.entry_uuid, replaced.entry_uuid]


def test_get_related_documents_without_relatives_is_empty() -> None:
    lonely = a_document()
    found = ids_in(ask(stored_query(GET_RELATED_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": f"'{lonely.entry_uuid}'", "$AssociationTypes": quoted(RPLC)})))
    assert found == []


def get_all(**extra: str) -> list[str]:
    return ids_in(ask(stored_query(GET_ALL, {
        "$patientId": f"'{JANE}'", "$XDSDocumentEntryStatus": APPROVED,
        "$XDSSubmissionSetStatus": APPROVED, "$XDSFolderStatus": APPROVED, **extra})))


def test_get_all_returns_the_patients_sets_documents_folders_and_their_links() -> None:
    manifest, folder = a_document(), a_folder()
    submission_set, members = a_submission(manifest, folder=folder)
    a_submission(a_document(patient=JOHN), patient=JOHN)
    found = get_all()
    assert found[:3] == [submission_set.entry_uuid, manifest.entry_uuid, folder.entry_uuid]
    assert sorted(found[3:]) == sorted(m.entry_uuid for m in members)


def test_get_all_filters_documents_by_status_format_and_confidentiality() -> None:
    manifest, report = a_document(), a_document(format_code=PDF_FORMAT, confidentiality=(RESTRICTED,))
    old = a_document(status=DEPRECATED)
    submission_set, members = a_submission(manifest, report, old)
    assert get_all()[:3] == [submission_set.entry_uuid, manifest.entry_uuid, report.entry_uuid]
    found = get_all(**{"$XDSDocumentEntryFormatCode": "('urn:ihe:iti:xds:2017:mimeTypeSufficient^^^"
                                                      "1.3.6.1.4.1.19376.1.2.3')"})
    assert found == [submission_set.entry_uuid, report.entry_uuid, members[1].entry_uuid]
    found = get_all(**{"$XDSDocumentEntryConfidentialityCode": "('R^^^2.16.840.1.113883.5.25')"})
    assert found == [submission_set.entry_uuid, report.entry_uuid, members[1].entry_uuid]


def test_get_all_covers_the_ids_merged_into_the_patient() -> None:
    a_patient(JANE_OLD, merged_into=JANE)
    old_set = a_submission_set(patient=JANE_OLD)
    assert get_all() == [old_set.entry_uuid]
