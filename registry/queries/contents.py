"""GetAll, GetSubmissionSetAndContents, GetFolderAndContents: objects with what they hold."""

from __future__ import annotations

from registry import selectors
from registry.queries.base import (
    CONFIDENTIALITY_CODE,
    ENTRY_TYPE,
    FORMAT_CODE,
    HAS_MEMBER,
    HOME,
    METADATA_LEVEL,
    Context,
    StoredQuery,
    content_filters,
    linking,
    uuids,
)
from registry.queries.get import FOLDER_UNIQUE_ID, FOLDER_UUID
from registry.queries.params import Param, Params
from registry.selectors import Found

SS_UUID, SS_UNIQUE_ID = "$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId"
_CONTENT_FILTERS = [FORMAT_CODE, CONFIDENTIALITY_CODE, ENTRY_TYPE]


def get_all(params: Params, context: Context) -> list[Found]:
    patient_id = params.string("$patientId") or ""
    documents = content_filters(params)
    documents.patient_id, documents.statuses = patient_id, params.strings("$XDSDocumentEntryStatus")
    objects = [
        *selectors.submission_sets(selectors.SubmissionSetFilter(
            patient_id=patient_id, statuses=params.strings("$XDSSubmissionSetStatus")),
            leaf=context.leaf, limit=context.limit),
        *selectors.document_entries(documents, leaf=context.leaf, limit=context.limit),
        *selectors.folders(selectors.FolderFilter(
            patient_id=patient_id, statuses=params.strings("$XDSFolderStatus")),
            leaf=context.leaf, limit=context.limit),
    ]
    if len(objects) > context.limit:
        return objects
    between = selectors.associations(either_end=uuids(objects), leaf=context.leaf, limit=context.limit)
    return [*objects, *linking(between, objects)]


def get_submission_set_and_contents(params: Params, context: Context) -> list[Found]:
    sets = selectors.submission_sets(selectors.SubmissionSetFilter(
        entry_uuids=params.strings(SS_UUID) or None, unique_ids=params.strings(SS_UNIQUE_ID) or None),
        leaf=context.leaf, limit=context.limit)
    if not sets:
        return []
    return [*sets, *_members(sets[0], params, context, with_folders=True)]


def get_folder_and_contents(params: Params, context: Context) -> list[Found]:
    found = selectors.folders(selectors.FolderFilter(
        entry_uuids=params.strings(FOLDER_UUID) or None,
        unique_ids=params.strings(FOLDER_UNIQUE_ID) or None), leaf=context.leaf, limit=context.limit)
    if not found:
        return []
    return [*found, *_members(found[0], params, context, with_folders=False)]


def _members(holder: Found, params: Params, context: Context, *, with_folders: bool) -> list[Found]:
    """A SubmissionSet's or Folder's DocumentEntries (filtered), its Folders, and the HasMember
    associations among what is returned."""
    members, found = selectors.members(holder_uuid=holder.entry_uuid, types=[HAS_MEMBER],
                                       documents=content_filters(params), leaf=context.leaf,
                                       limit=context.limit)
    # The other targets may be Folders, or the Folder-to-DocumentEntry HasMembers a
    # SubmissionSet carried (ITI TF-3 4.1.6.1); with none, there is nothing more to read.
    others = sorted({a.target_uuid for a in members} - set(uuids(found)))
    if with_folders and others:
        found += selectors.folders(selectors.FolderFilter(entry_uuids=others), leaf=context.leaf,
                                   limit=context.limit)
        members += selectors.associations(entry_uuids=others, types=[HAS_MEMBER], leaf=context.leaf,
                                          limit=context.limit)
    return [*found, *linking(members, [holder, *found])]


QUERIES = [
    # ITI TF-2a Table 3.18.4.1.2.3.7.4-1
    StoredQuery("urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3", "GetAll", [
        Param("$patientId", required=True),
        Param("$XDSDocumentEntryStatus", required=True, multiple=True),
        Param("$XDSSubmissionSetStatus", required=True, multiple=True),
        Param("$XDSFolderStatus", required=True, multiple=True),
        *_CONTENT_FILTERS, METADATA_LEVEL,
    ], get_all),
    # ITI TF-2a Table 3.18.4.1.2.3.7.10-1
    StoredQuery("urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83", "GetSubmissionSetAndContents", [
        Param(SS_UUID), Param(SS_UNIQUE_ID), *_CONTENT_FILTERS, HOME, METADATA_LEVEL,
    ], get_submission_set_and_contents, exclusive=((SS_UUID, SS_UNIQUE_ID),), single_patient=True),
    # ITI TF-2a Table 3.18.4.1.2.3.7.11-1
    StoredQuery("urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7", "GetFolderAndContents", [
        Param(FOLDER_UUID), Param(FOLDER_UNIQUE_ID), *_CONTENT_FILTERS, HOME, METADATA_LEVEL,
    ], get_folder_and_contents, exclusive=((FOLDER_UUID, FOLDER_UNIQUE_ID),), single_patient=True),
]
