"""The Find* stored queries: by patient and attributes (ITI TF-2a 3.18.4.1.2.3.7.1-4)."""

from __future__ import annotations

from registry import selectors
from registry.queries.base import (
    CONFIDENTIALITY_CODE,
    ENTRY_TYPE,
    FORMAT_CODE,
    Context,
    StoredQuery,
    entry_types,
)
from registry.queries.params import Param, Params
from registry.selectors import Found

_DE = "$XDSDocumentEntry"
# Coded attributes held in columns: parameter -> column prefix.
_CODES = {f"{_DE}ClassCode": "class", f"{_DE}TypeCode": "type",
          f"{_DE}PracticeSettingCode": "practice_setting",
          f"{_DE}HealthcareFacilityTypeCode": "healthcare_facility_type", FORMAT_CODE.name: "format"}
_TIMES = {"CreationTime": "creation_time", "ServiceStartTime": "service_start_time",
          "ServiceStopTime": "service_stop_time"}
_CODE_LISTS = {f"{_DE}EventCodeList": "eventCodeList", CONFIDENTIALITY_CODE.name: "confidentialityCode"}

# ITI TF-2a Table 3.18.4.1.2.3.7.1-1
FIND_DOCUMENTS_PARAMS = [
    Param(f"{_DE}PatientId", required=True),
    *(Param(name, multiple=True, kind="code") for name in _CODES if name != FORMAT_CODE.name),
    FORMAT_CODE,
    *(Param(f"{_DE}{time}{end}", kind="time") for time in _TIMES for end in ("From", "To")),
    Param(f"{_DE}EventCodeList", multiple=True, and_or=True, kind="code"),
    CONFIDENTIALITY_CODE,
    Param(f"{_DE}AuthorPerson", multiple=True),
    Param(f"{_DE}Status", required=True, multiple=True),
    ENTRY_TYPE,
]


def find_documents(params: Params, context: Context) -> list[Found]:
    found = selectors.DocumentFilter(patient_id=params.string(f"{_DE}PatientId") or "",
                                     statuses=params.strings(f"{_DE}Status"),
                                     object_types=entry_types(params))
    for name, prefix in _CODES.items():
        if params.has(name):
            found.codes[prefix] = params.codes(name)
    for time, column in _TIMES.items():
        span = (params.time(f"{_DE}{time}From"), params.time(f"{_DE}{time}To"))
        if span != (None, None):
            found.times[column] = span
    for name, kind in _CODE_LISTS.items():
        if params.has(name):
            found.code_lists[kind] = params.code_groups(name)
    if params.has(f"{_DE}AuthorPerson"):
        found.author_persons = params.strings(f"{_DE}AuthorPerson")
    if params.has(f"{_DE}ReferenceIdList"):
        found.reference_ids = [[v.text for v in group] for group in params.values[f"{_DE}ReferenceIdList"]]
    return selectors.document_entries(found, leaf=context.leaf, limit=context.limit)


def find_submission_sets(params: Params, context: Context) -> list[Found]:
    ss = "$XDSSubmissionSet"
    found = selectors.SubmissionSetFilter(
        patient_id=params.string(f"{ss}PatientId") or "",
        statuses=params.strings(f"{ss}Status"),
        submission_time=(params.time(f"{ss}SubmissionTimeFrom"), params.time(f"{ss}SubmissionTimeTo")))
    if params.has(f"{ss}SourceId"):
        found.source_ids = params.strings(f"{ss}SourceId")
    if params.has(f"{ss}AuthorPerson"):
        found.author_persons = params.strings(f"{ss}AuthorPerson")
    if params.has(f"{ss}ContentType"):
        found.content_types = params.codes(f"{ss}ContentType")
    return selectors.submission_sets(found, leaf=context.leaf, limit=context.limit)


def find_folders(params: Params, context: Context) -> list[Found]:
    fol = "$XDSFolder"
    found = selectors.FolderFilter(
        patient_id=params.string(f"{fol}PatientId") or "",
        statuses=params.strings(f"{fol}Status"),
        last_update_time=(params.time(f"{fol}LastUpdateTimeFrom"), params.time(f"{fol}LastUpdateTimeTo")),
        code_lists=params.code_groups(f"{fol}CodeList"))
    return selectors.folders(found, leaf=context.leaf, limit=context.limit)


QUERIES = [
    StoredQuery("urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", "FindDocuments",
                FIND_DOCUMENTS_PARAMS, find_documents),
    # ITI TF-2a Table 3.18.4.1.2.3.7.14-1
    StoredQuery("urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492", "FindDocumentsByReferenceId",
                [*FIND_DOCUMENTS_PARAMS,
                 Param(f"{_DE}ReferenceIdList", required=True, multiple=True, and_or=True)],
                find_documents),
    # ITI TF-2a Table 3.18.4.1.2.3.7.2-1
    StoredQuery("urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9", "FindSubmissionSets", [
        Param("$XDSSubmissionSetPatientId", required=True),
        Param("$XDSSubmissionSetSourceId", multiple=True),
        Param("$XDSSubmissionSetSubmissionTimeFrom", kind="time"),
        Param("$XDSSubmissionSetSubmissionTimeTo", kind="time"),
        Param("$XDSSubmissionSetAuthorPerson"),
        Param("$XDSSubmissionSetContentType", multiple=True, kind="code"),
        Param("$XDSSubmissionSetStatus", required=True, multiple=True),
    ], find_submission_sets),
    # ITI TF-2a Table 3.18.4.1.2.3.7.3-1
    StoredQuery("urn:uuid:958f3006-baad-4929-a4de-ff1114824431", "FindFolders", [
        Param("$XDSFolderPatientId", required=True),
        Param("$XDSFolderLastUpdateTimeFrom", kind="time"),
        Param("$XDSFolderLastUpdateTimeTo", kind="time"),
        Param("$XDSFolderCodeList", multiple=True, and_or=True, kind="code"),
        Param("$XDSFolderStatus", required=True, multiple=True),
    ], find_folders),
]
