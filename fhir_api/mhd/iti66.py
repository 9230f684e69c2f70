"""Protocol handler: ITI-66 Find Document Lists (MHD 4.2 ITI TF-2 3.66) and the read of one.

SubmissionSets and Folders are found as ITI-18 FindSubmissionSets and FindFolders find them
(ITI TF-2 3.66.4.1.2.1); a search for both pages through the submission sets, then the folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir_api import audit
from fhir_api.bundle import searchset
from fhir_api.errors import bad_request, not_found
from fhir_api.identity import subject_of_cx
from fhir_api.mhd import codes
from fhir_api.mhd.iti67 import author_patterns, code_matches, identifiers, patient_of, statuses, time_range
from fhir_api.mhd.lists import folder_list, submission_set_list
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import Search
from registry import metadata, selectors
from registry.selectors import Found

_KINDS = ("submissionset", "folder")
_MEMBERS_LIMIT = 100_000


def find_document_lists(request: FhirRequest) -> FhirResponse:
    search = Search(request)
    patient_id = patient_of(search)
    if patient_id is None:
        audit.queried(request)
        return FhirResponse(resource=searchset(request, search, resources=[], total=0))
    kinds = _kinds(search)
    sets: list[Found] = []
    folders: list[Found] = []
    total = 0
    if "submissionset" in kinds:
        sets, total = selectors.submission_set_page(_set_filter(search, patient_id), offset=search.offset,
                                                    limit=search.count)
    if "folder" in kinds:
        folders, in_folders = selectors.folder_page(_folder_filter(search, patient_id),
                                                    offset=max(0, search.offset - total),
                                                    limit=search.count - len(sets))
        total += in_folders
    audit.queried(request, patient_ids=[patient_id])
    resources = document_lists(sets, folders, request.base)
    return FhirResponse(resource=searchset(request, search, resources=resources, total=total))


def read_document_list(request: FhirRequest) -> FhirResponse:
    wanted = [codes.entry_uuid_of_id(request.resource_id)]
    sets, _ = selectors.submission_set_page(selectors.SubmissionSetFilter(entry_uuids=wanted),
                                            offset=0, limit=1)
    folders, _ = selectors.folder_page(selectors.FolderFilter(entry_uuids=wanted), offset=0, limit=1)
    if not sets and not folders:
        raise not_found(f"List/{request.resource_id} is not known here")
    audit.queried(request, patient_ids=[(sets or folders)[0].patient_id])
    return FhirResponse(resource=document_lists(sets, folders, request.base)[0])


def document_lists(sets: Sequence[Found], folders: Sequence[Found], base: str) -> list[dict[str, Any]]:
    """The Lists of a page: their members in two SELECTs, subjects once per patient."""
    members = _members([p.entry_uuid for p in (*sets, *folders)])
    patients = {p.patient_id for p in (*sets, *folders) if p.patient_id}
    subjects = {pid: subject_of_cx(pid, base) for pid in patients}
    return [*(submission_set_list(entry_uuid=p.entry_uuid, ebrim=p.ebrim, subject=subjects.get(p.patient_id),
                                  entries=members.get(p.entry_uuid, [])) for p in sets),
            *(folder_list(entry_uuid=p.entry_uuid, ebrim=p.ebrim, subject=subjects.get(p.patient_id),
                          entries=members.get(p.entry_uuid, [])) for p in folders)]


def _members(holders: Sequence[str]) -> dict[str, list[str]]:
    """ITI TF-3 4.5.2: each package's HasMember targets as references: documents, and the
    folders a submission set carries (the associations it carries are not entries)."""
    if not holders:
        return {}
    found = selectors.associations(leaf=False, limit=_MEMBERS_LIMIT, sources=holders,
                                   types=[metadata.HAS_MEMBER])
    kinds = selectors.entry_kinds([a.target_uuid for a in found])
    resource_types = {"DocumentEntry": "DocumentReference", "Folder": "List"}
    members: dict[str, list[str]] = {}
    for association in found:
        kind = kinds.get(association.target_uuid)
        if kind is not None:
            members.setdefault(association.source_uuid, []).append(
                f"{resource_types[kind]}/{codes.id_of_entry_uuid(association.target_uuid)}")
    return members


def _kinds(search: Search) -> list[str]:
    kinds = list(_KINDS)
    for group in search.tokens("code"):
        kinds = [k for k in kinds if k in {t.code for t in group}]
    # Only submission sets have a source, a sourceId and authors (ITI TF-3 4.2.3.3).
    if any(search.has(name) for name in ("sourceId", "source.given", "source.family")):
        kinds = [k for k in kinds if k == "submissionset"]
    return kinds


def _set_filter(search: Search, patient_id: str) -> selectors.SubmissionSetFilter:
    f = selectors.SubmissionSetFilter(patient_id=patient_id, statuses=statuses(search),
                                      submission_time=time_range(search, "date"),
                                      author_persons=author_patterns(search, "source"))
    f.entry_uuids, f.unique_ids = identifiers(search)
    designations = search.tokens("designationType")
    if len(designations) > 1:
        raise bad_request("designationType: a submission set has one; give the values once, comma-separated",
                          code="not-supported", expression="designationType")
    if designations:
        f.content_types = code_matches(designations[0])
    for group in search.tokens("sourceId"):
        ids = [codes.unique_id_of_uri(t.code) for t in group]
        f.source_ids = ids if f.source_ids is None else [s for s in f.source_ids if s in ids]
    return f


def _folder_filter(search: Search, patient_id: str) -> selectors.FolderFilter:
    f = selectors.FolderFilter(patient_id=patient_id, statuses=statuses(search),
                               last_update_time=time_range(search, "date"),
                               code_lists=[code_matches(g) for g in search.tokens("designationType")])
    f.entry_uuids, f.unique_ids = identifiers(search)
    return f
