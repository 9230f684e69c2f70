"""The Get* stored queries: objects by id, and what they are associated with (ITI TF-2a 3.18.4.1.2.3.7)."""

from __future__ import annotations

from registry import selectors
from registry.queries.base import HAS_MEMBER, HOME, METADATA_LEVEL, Context, StoredQuery, uuids
from registry.queries.params import Param, Params
from registry.selectors import Found

DE_UUID, DE_UNIQUE_ID = "$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"
DE_LOGICAL_ID = "$XDSDocumentEntryLogicalID"
FOLDER_UUID, FOLDER_UNIQUE_ID = "$XDSFolderEntryUUID", "$XDSFolderUniqueId"
FOLDER_LOGICAL_ID = "$XDSFolderLogicalID"
ONE_DOCUMENT = ((DE_UUID, DE_UNIQUE_ID),)


def documents_by_id(params: Params, context: Context, *, leaf: bool | None = None) -> list[Found]:
    """The DocumentEntries named by entryUUID, uniqueId or logicalID, whatever their status."""
    found = selectors.DocumentFilter()
    if params.has(DE_UUID):
        found.entry_uuids = params.strings(DE_UUID)
    if params.has(DE_UNIQUE_ID):
        found.unique_ids = params.strings(DE_UNIQUE_ID)
    if params.has(DE_LOGICAL_ID):
        found.logical_ids = params.strings(DE_LOGICAL_ID)
    return selectors.document_entries(found, leaf=context.leaf if leaf is None else leaf,
                                      limit=context.limit)


def get_documents(params: Params, context: Context) -> list[Found]:
    return documents_by_id(params, context)


def get_folders(params: Params, context: Context) -> list[Found]:
    found = selectors.FolderFilter()
    if params.has(FOLDER_UUID):
        found.entry_uuids = params.strings(FOLDER_UUID)
    if params.has(FOLDER_UNIQUE_ID):
        found.unique_ids = params.strings(FOLDER_UNIQUE_ID)
    if params.has(FOLDER_LOGICAL_ID):
        found.logical_ids = params.strings(FOLDER_LOGICAL_ID)
    return selectors.folders(found, leaf=context.leaf, limit=context.limit)


def get_associations(params: Params, context: Context) -> list[Found]:
    return selectors.associations(either_end=params.strings("$uuid"), leaf=context.leaf,
                                  limit=context.limit)


def get_documents_and_associations(params: Params, context: Context) -> list[Found]:
    documents = documents_by_id(params, context)
    if not documents:
        return []
    return [*documents, *selectors.associations(either_end=uuids(documents), leaf=context.leaf,
                                                limit=context.limit)]


def get_submission_sets(params: Params, context: Context) -> list[Found]:
    # ITI TF-2a 3.18.4.1.2.3.7.9: the SubmissionSets holding the objects, and their HasMembers.
    members = selectors.associations(targets=params.strings("$uuid"), types=[HAS_MEMBER],
                                     leaf=context.leaf, limit=context.limit)
    sets = selectors.submission_sets(
        selectors.SubmissionSetFilter(entry_uuids=[a.source_uuid for a in members]),
        leaf=context.leaf, limit=context.limit)
    ids = set(uuids(sets))
    return [*sets, *(a for a in members if a.source_uuid in ids)]


def get_folders_for_document(params: Params, context: Context) -> list[Found]:
    documents = documents_by_id(params, context, leaf=False)
    members = selectors.associations(targets=uuids(documents), types=[HAS_MEMBER], leaf=False,
                                     limit=context.limit)
    return selectors.folders(selectors.FolderFilter(entry_uuids=[a.source_uuid for a in members]),
                             leaf=context.leaf, limit=context.limit)


def get_related_documents(params: Params, context: Context) -> list[Found]:
    # ITI TF-2a 3.18.4.1.2.3.7.13: nothing unless some association of the given types exists.
    documents = documents_by_id(params, context)
    ids = uuids(documents)
    related = selectors.associations(either_end=ids, types=params.strings("$AssociationTypes"),
                                     leaf=context.leaf, limit=context.limit)
    if not related:
        return []
    others = {a.target_uuid if a.source_uuid in ids else a.source_uuid for a in related} - set(ids)
    found = selectors.document_entries(selectors.DocumentFilter(entry_uuids=sorted(others)),
                                       leaf=context.leaf, limit=context.limit)
    return [*documents, *found, *related]


_BY_DOCUMENT = [Param(DE_UUID), Param(DE_UNIQUE_ID), HOME]

QUERIES = [
    # ITI TF-2a Table 3.18.4.1.2.3.7.5-1
    StoredQuery("urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4", "GetDocuments", [
        Param(DE_UUID, multiple=True), Param(DE_UNIQUE_ID, multiple=True),
        Param(DE_LOGICAL_ID, multiple=True), HOME, METADATA_LEVEL,
    ], get_documents, exclusive=((DE_UUID, DE_UNIQUE_ID, DE_LOGICAL_ID),), single_patient=True),
    # ITI TF-2a Table 3.18.4.1.2.3.7.6-1
    StoredQuery("urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4", "GetFolders", [
        Param(FOLDER_UUID, multiple=True), Param(FOLDER_UNIQUE_ID, multiple=True),
        Param(FOLDER_LOGICAL_ID, multiple=True), HOME, METADATA_LEVEL,
    ], get_folders, exclusive=((FOLDER_UUID, FOLDER_UNIQUE_ID, FOLDER_LOGICAL_ID),),
        single_patient=True),
    # ITI TF-2a Table 3.18.4.1.2.3.7.7-1
    StoredQuery("urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155", "GetAssociations", [
        Param("$uuid", required=True, multiple=True), HOME, METADATA_LEVEL,
    ], get_associations),
    # ITI TF-2a Table 3.18.4.1.2.3.7.8-1
    StoredQuery("urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a", "GetDocumentsAndAssociations", [
        Param(DE_UUID, multiple=True), Param(DE_UNIQUE_ID, multiple=True), HOME, METADATA_LEVEL,
    ], get_documents_and_associations, exclusive=ONE_DOCUMENT, single_patient=True),
    # ITI TF-2a Table 3.18.4.1.2.3.7.9-1
    StoredQuery("urn:uuid:51224314-5390-4169-9b91-b1980040715a", "GetSubmissionSets", [
        Param("$uuid", required=True, multiple=True), HOME,
    ], get_submission_sets, single_patient=True),
    # ITI TF-2a Table 3.18.4.1.2.3.7.12-1
    StoredQuery("urn:uuid:10cae35a-c7f9-4cf3-b9d8-8fb5c6c3fd6f", "GetFoldersForDocument",
                [*_BY_DOCUMENT, METADATA_LEVEL], get_folders_for_document, exclusive=ONE_DOCUMENT,
                single_patient=True),
    # ITI TF-2a Table 3.18.4.1.2.3.7.13-1
    StoredQuery("urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6", "GetRelatedDocuments", [
        *_BY_DOCUMENT, Param("$AssociationTypes", required=True, multiple=True), METADATA_LEVEL,
    ], get_related_documents, exclusive=ONE_DOCUMENT, single_patient=True),
]
