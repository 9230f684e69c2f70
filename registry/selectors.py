"""Reads of the registry the stored queries (ITI-18) make: one SQL query per kind of object."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from registry.models import (
    Association,
    DocumentEntry,
    Folder,
    ObjectCode,
    ObjectValue,
    PatientIdentity,
    SubmissionSet,
)

CodeMatch = tuple[str, str]  # (code, scheme); an empty scheme matches any
TimeRange = tuple[str | None, str | None]  # (from inclusive, to exclusive), DTMs padded to 14


@dataclass(frozen=True)
class Found:
    """One registry object as a LeafClass or ObjectRef answer needs it."""

    entry_uuid: str
    ebrim: str  # empty when only an ObjectRef was asked for
    home_community_id: str = ""
    patient_id: str = ""  # associations have none
    source_uuid: str = ""  # associations only
    target_uuid: str = ""
    association_type: str = ""


@dataclass
class DocumentFilter:
    """What FindDocuments and the Get* queries select DocumentEntries by; None: no condition."""

    entry_uuids: Sequence[str] | None = None
    unique_ids: Sequence[str] | None = None
    logical_ids: Sequence[str] | None = None
    patient_ids: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    object_types: Sequence[str] | None = None
    # column name prefix (class, type, format, ...) -> codes ORed
    codes: dict[str, Sequence[CodeMatch]] = field(default_factory=dict)
    # column (creation_time, service_start_time, service_stop_time) -> range
    times: dict[str, TimeRange] = field(default_factory=dict)
    # ObjectCode kind (eventCodeList, confidentialityCode) -> groups ANDed of codes ORed
    code_lists: dict[str, Sequence[Sequence[CodeMatch]]] = field(default_factory=dict)
    author_persons: Sequence[str] | None = None  # SQL LIKE patterns, ORed
    reference_ids: Sequence[Sequence[str]] | None = None  # groups ANDed of values ORed


@dataclass
class SubmissionSetFilter:
    entry_uuids: Sequence[str] | None = None
    unique_ids: Sequence[str] | None = None
    patient_ids: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    source_ids: Sequence[str] | None = None
    submission_time: TimeRange = (None, None)
    author_persons: Sequence[str] | None = None
    content_types: Sequence[CodeMatch] | None = None


@dataclass
class FolderFilter:
    entry_uuids: Sequence[str] | None = None
    unique_ids: Sequence[str] | None = None
    logical_ids: Sequence[str] | None = None
    patient_ids: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    last_update_time: TimeRange = (None, None)
    code_lists: Sequence[Sequence[CodeMatch]] = ()  # codeList: groups ANDed of codes ORed


def patient_ids_for(patient_id: str) -> list[str]:
    """The IDs a query by `patient_id` covers: it and every ID merged into it (ITI TF-3 4.2.3.1.4).

    An ID merged into another no longer names anyone: its documents answer to the survivor.
    """
    identity = PatientIdentity.objects.filter(patient_id=patient_id).only("merged_into_id").first()
    if identity is not None and identity.merged_into_id is not None:
        return []
    found, frontier = [patient_id], [patient_id]
    while frontier:
        frontier = list(PatientIdentity.objects.filter(merged_into__patient_id__in=frontier)
                        .values_list("patient_id", flat=True))
        frontier = [p for p in frontier if p not in found]
        found.extend(frontier)
    return found


def surviving_patient_ids(patient_ids: Iterable[str]) -> set[str]:
    """Each ID replaced by the one it was merged into, for the single-patient check."""
    wanted = {p for p in patient_ids if p}
    merged = dict(PatientIdentity.objects.filter(patient_id__in=wanted, merged_into__isnull=False)
                  .values_list("patient_id", "merged_into__patient_id"))
    survivors = set()
    for pid in wanted:
        seen = {pid}
        while pid in merged and merged[pid] not in seen:
            pid = merged[pid]
            seen.add(pid)
        survivors.add(pid)
    return survivors


def document_entries(f: DocumentFilter, *, leaf: bool, limit: int) -> list[Found]:
    q = _identity(f.entry_uuids, f.unique_ids, f.logical_ids, f.patient_ids, f.statuses)
    if f.object_types is not None:
        q &= Q(object_type__in=f.object_types)
    for prefix, codes in f.codes.items():
        q &= _code_columns(f"{prefix}_code", f"{prefix}_scheme", codes)
    for column, span in f.times.items():
        q &= _time_range(column, span)
    for kind, groups in f.code_lists.items():
        q &= _code_list(kind, groups)
    if f.author_persons is not None:
        q &= _values_like("authorPerson", f.author_persons)
    for group in f.reference_ids or ():
        q &= Q(entry_uuid__in=ObjectValue.objects.filter(kind="referenceIdList", value__in=group)
               .values("entry_uuid"))
    return _found(DocumentEntry.objects.filter(q), leaf=leaf, limit=limit)


def submission_sets(f: SubmissionSetFilter, *, leaf: bool, limit: int) -> list[Found]:
    q = _identity(f.entry_uuids, f.unique_ids, None, f.patient_ids, f.statuses)
    if f.source_ids is not None:
        q &= Q(source_id__in=f.source_ids)
    q &= _time_range("submission_time", f.submission_time)
    if f.author_persons is not None:
        q &= _values_like("authorPerson", f.author_persons)
    if f.content_types is not None:
        q &= _code_columns("content_type_code", "content_type_scheme", f.content_types)
    return _found(SubmissionSet.objects.filter(q), leaf=leaf, limit=limit)


def folders(f: FolderFilter, *, leaf: bool, limit: int) -> list[Found]:
    q = _identity(f.entry_uuids, f.unique_ids, f.logical_ids, f.patient_ids, f.statuses)
    q &= _time_range("last_update_time", f.last_update_time)
    if f.code_lists:
        q &= _code_list("codeList", f.code_lists)
    return _found(Folder.objects.filter(q), leaf=leaf, limit=limit)


def associations(*, leaf: bool, limit: int, entry_uuids: Sequence[str] | None = None,
                 either_end: Sequence[str] | None = None,
                 sources: Sequence[str] | None = None, targets: Sequence[str] | None = None,
                 types: Sequence[str] | None = None) -> list[Found]:
    """Associations by their ends: `either_end` matches source or target, the others one end."""
    q = Q()
    if entry_uuids is not None:
        q &= Q(entry_uuid__in=entry_uuids)
    if either_end is not None:
        q &= Q(source_uuid__in=either_end) | Q(target_uuid__in=either_end)
    if sources is not None:
        q &= Q(source_uuid__in=sources)
    if targets is not None:
        q &= Q(target_uuid__in=targets)
    if types is not None:
        q &= Q(association_type__in=types)
    fields = ["entry_uuid", "source_uuid", "target_uuid", "association_type", *(["ebrim"] if leaf else [])]
    rows = Association.objects.filter(q).order_by("id").values(*fields)[: limit + 1]
    return [Found(entry_uuid=r["entry_uuid"], ebrim=r.get("ebrim", ""), source_uuid=r["source_uuid"],
                  target_uuid=r["target_uuid"], association_type=r["association_type"]) for r in rows]


def _identity(entry_uuids: Sequence[str] | None, unique_ids: Sequence[str] | None,
              logical_ids: Sequence[str] | None, patient_ids: Sequence[str] | None,
              statuses: Sequence[str] | None) -> Q:
    q = Q()
    for name, values in (("entry_uuid", entry_uuids), ("unique_id", unique_ids),
                         ("logical_id", logical_ids), ("patient_id", patient_ids),
                         ("status", statuses)):
        if values is not None:
            q &= Q(**{f"{name}__in": values})
    return q


def _code_columns(code: str, scheme: str, codes: Sequence[CodeMatch]) -> Q:
    q = Q(pk__in=[])
    for value, value_scheme in codes:
        q |= Q(**{code: value, scheme: value_scheme}) if value_scheme else Q(**{code: value})
    return q


def _code_list(kind: str, groups: Sequence[Sequence[CodeMatch]]) -> Q:
    # ITI TF-2a 3.18.4.1.2.3.6.2: values of one Slot are ORed, repeated Slots ANDed.
    q = Q()
    for group in groups:
        q &= Q(entry_uuid__in=ObjectCode.objects.filter(_code_columns("code", "scheme", group), kind=kind)
               .values("entry_uuid"))
    return q


def _time_range(column: str, span: TimeRange) -> Q:
    # ITI TF-2a 3.18.4.1.2.3.6.1: From is inclusive, To exclusive; padded DTMs compare as strings.
    start, stop = span
    q = Q()
    if start is not None:
        q &= Q(**{f"{column}__gte": start}) & ~Q(**{column: ""})
    if stop is not None:
        q &= Q(**{f"{column}__lt": stop}) & ~Q(**{column: ""})
    return q


def _values_like(kind: str, patterns: Sequence[str]) -> Q:
    # ITI TF-2a 3.18.4.1.2.3.6: '%' and '_' are SQL LIKE wildcards.
    q = Q(pk__in=[])
    for pattern in patterns:
        q |= Q(value__regex=_like_regex(pattern))
    return Q(entry_uuid__in=ObjectValue.objects.filter(q, kind=kind).values("entry_uuid"))


def _like_regex(pattern: str) -> str:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return "^" + "".join(parts) + "$"


def _found(objects: QuerySet[Any], *, leaf: bool, limit: int) -> list[Found]:
    fields = ["entry_uuid", "home_community_id", "patient_id", *(["ebrim"] if leaf else [])]
    rows = objects.order_by("id").values(*fields)[: limit + 1]
    return [Found(entry_uuid=r["entry_uuid"], ebrim=r.get("ebrim", ""),
                  home_community_id=r["home_community_id"], patient_id=r["patient_id"]) for r in rows]


