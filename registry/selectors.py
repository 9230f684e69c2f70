"""Reads of the registry the stored queries (ITI-18) make: one SELECT per kind of object, written out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Model

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
    patient_id: str | None = None  # with the IDs merged into it
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
    patient_id: str | None = None  # with the IDs merged into it
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
    patient_id: str | None = None  # with the IDs merged into it
    statuses: Sequence[str] | None = None
    last_update_time: TimeRange = (None, None)
    code_lists: Sequence[Sequence[CodeMatch]] = ()  # codeList: groups ANDed of codes ORed


def several_patients(patient_ids: Iterable[str]) -> bool:
    """Whether the IDs name more than one patient once merges are followed (ITI TF-2a
    3.18.4.1.2.3.7: XDSResultNotSinglePatient). One ID needs no lookup."""
    wanted = {p for p in patient_ids if p}
    return len(wanted) > 1 and len(surviving_patient_ids(wanted)) > 1


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
    return _found(DocumentEntry, _document_where(f), leaf=leaf, limit=limit)


def members(*, holder_uuid: str, types: Sequence[str], documents: DocumentFilter, leaf: bool,
            limit: int) -> tuple[list[Found], list[Found]]:
    """A SubmissionSet's or Folder's associations of `types` and, joined to them in the same
    SELECT, the DocumentEntries they point at that `documents` selects (ITI TF-2a
    3.18.4.1.2.3.7.10-11). Both lists come in insertion order."""
    entries = _document_where(documents, table="d")
    where = _Where("a")
    where.add("a.source_uuid = %s", holder_uuid)
    where.within("association_type", types)
    ebrim = ["a.ebrim", "d.ebrim"] if leaf else ["''", "''"]
    sql = (f"SELECT a.entry_uuid, a.source_uuid, a.target_uuid, a.association_type, {ebrim[0]}, "  # noqa: S608
           f"d.id, d.entry_uuid, d.home_community_id, d.patient_id, {ebrim[1]} "
           f"FROM {_ASSOCIATIONS} a LEFT JOIN {DocumentEntry._meta.db_table} d "
           f"ON d.entry_uuid = a.target_uuid AND {entries.clause()}"
           f"{where.sql()} ORDER BY a.id LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*entries.params, *where.params, limit + 1])
        rows = cursor.fetchall()
    associations = [Found(entry_uuid=r[0], source_uuid=r[1], target_uuid=r[2], association_type=r[3],
                          ebrim=r[4]) for r in rows]
    found = sorted((r for r in rows if r[5] is not None), key=lambda r: r[5])
    return associations, [Found(entry_uuid=r[6], home_community_id=r[7], patient_id=r[8], ebrim=r[9])
                          for r in found]


def _document_where(f: DocumentFilter, *, table: str = "") -> _Where:
    where = _identity(f.entry_uuids, f.unique_ids, f.logical_ids, f.patient_id, f.statuses, table=table)
    where.within("object_type", f.object_types)
    for prefix, codes in f.codes.items():
        where.codes(f"{prefix}_code", f"{prefix}_scheme", codes)
    for column, span in f.times.items():
        where.time_range(column, span)
    for kind, groups in f.code_lists.items():
        where.code_list(kind, groups)
    if f.author_persons is not None:
        where.values_like("authorPerson", f.author_persons)
    for group in f.reference_ids or ():
        where.add(f"{where.column('entry_uuid')} IN (SELECT entry_uuid FROM {_VALUES} "  # noqa: S608
                  f"WHERE kind = %s AND {_in('value', group)})", "referenceIdList", *group)
    return where


def submission_sets(f: SubmissionSetFilter, *, leaf: bool, limit: int) -> list[Found]:
    return _found(SubmissionSet, _submission_set_where(f), leaf=leaf, limit=limit)


def _submission_set_where(f: SubmissionSetFilter) -> _Where:
    where = _identity(f.entry_uuids, f.unique_ids, None, f.patient_id, f.statuses)
    where.within("source_id", f.source_ids)
    where.time_range("submission_time", f.submission_time)
    if f.author_persons is not None:
        where.values_like("authorPerson", f.author_persons)
    if f.content_types is not None:
        where.codes("content_type_code", "content_type_scheme", f.content_types)
    return where


def folders(f: FolderFilter, *, leaf: bool, limit: int) -> list[Found]:
    where = _identity(f.entry_uuids, f.unique_ids, f.logical_ids, f.patient_id, f.statuses)
    where.time_range("last_update_time", f.last_update_time)
    if f.code_lists:
        where.code_list("codeList", f.code_lists)
    return _found(Folder, where, leaf=leaf, limit=limit)


def associations(*, leaf: bool, limit: int, entry_uuids: Sequence[str] | None = None,
                 either_end: Sequence[str] | None = None,
                 sources: Sequence[str] | None = None, targets: Sequence[str] | None = None,
                 types: Sequence[str] | None = None) -> list[Found]:
    """Associations by their ends: `either_end` matches source or target, the others one end."""
    where = _Where()
    where.within("entry_uuid", entry_uuids)
    if either_end is not None:
        where.add(f"({_in('source_uuid', either_end)} OR {_in('target_uuid', either_end)})",
                  *either_end, *either_end)
    where.within("source_uuid", sources)
    where.within("target_uuid", targets)
    where.within("association_type", types)
    columns = ["entry_uuid", "source_uuid", "target_uuid", "association_type", *(["ebrim"] if leaf else [])]
    return [Found(entry_uuid=row[0], source_uuid=row[1], target_uuid=row[2], association_type=row[3],
                  ebrim=row[4] if leaf else "")
            for row in _select(Association, columns, where, limit=limit)]


class _Where:
    """A WHERE clause written out as SQL and its parameters.

    The stored queries' SELECTs hit indexes and take well under a millisecond; building the same
    SELECT through the ORM's query compiler took longer than running it, so the registry's reads
    are written out here, with the model's table names and bound parameters only.
    """

    def __init__(self, table: str = "") -> None:
        self.prefix = f"{table}." if table else ""  # the table's alias in a join
        self.terms: list[str] = []
        self.params: list[Any] = []

    def column(self, name: str) -> str:
        return self.prefix + name

    def add(self, sql: str, *params: Any) -> None:
        self.terms.append(sql)
        self.params.extend(params)

    def within(self, column: str, values: Sequence[str] | None) -> None:
        if values is not None:
            self.add(_in(self.column(column), values), *values)

    def codes(self, code: str, scheme: str, codes: Sequence[CodeMatch]) -> None:
        sql, params = _code_columns(self.column(code), self.column(scheme), codes)
        self.add(sql, *params)

    def code_list(self, kind: str, groups: Sequence[Sequence[CodeMatch]]) -> None:
        # ITI TF-2a 3.18.4.1.2.3.6.2: values of one Slot are ORed, repeated Slots ANDed.
        for group in groups:
            sql, params = _code_columns("code", "scheme", group)
            self.add(f"{self.column('entry_uuid')} IN (SELECT entry_uuid FROM {_CODES} "  # noqa: S608
                     f"WHERE kind = %s AND {sql})", kind, *params)

    def time_range(self, column: str, span: TimeRange) -> None:
        # ITI TF-2a 3.18.4.1.2.3.6.1: From is inclusive, To exclusive; padded DTMs compare as
        # strings, and an object without the time matches no range.
        start, stop = span
        column = self.column(column)
        if start is not None:
            self.add(f"{column} >= %s AND {column} <> ''", start)
        if stop is not None:
            self.add(f"{column} < %s AND {column} <> ''", stop)

    def values_like(self, kind: str, patterns: Sequence[str]) -> None:
        # ITI TF-2a 3.18.4.1.2.3.6: '%' and '_' are SQL LIKE wildcards, matched as a regular
        # expression so that they match case-sensitively on every database.
        # Every backend declares its regex operator (PostgreSQL ~, SQLite REGEXP); the base does not.
        regex = connection.operators["regex"] % "%s"  # type: ignore[attr-defined]
        matches = " OR ".join(f"value {regex}" for _ in patterns) or "1 = 0"
        self.add(f"{self.column('entry_uuid')} IN (SELECT entry_uuid FROM {_VALUES} "  # noqa: S608
                 f"WHERE kind = %s AND ({matches}))", kind, *(_like_regex(p) for p in patterns))

    def clause(self) -> str:
        return " AND ".join(f"({t})" for t in self.terms) if self.terms else "1 = 1"

    def sql(self) -> str:
        return f" WHERE {self.clause()}" if self.terms else ""


_CODES, _VALUES = ObjectCode._meta.db_table, ObjectValue._meta.db_table
_ASSOCIATIONS = Association._meta.db_table


def _identity(entry_uuids: Sequence[str] | None, unique_ids: Sequence[str] | None,
              logical_ids: Sequence[str] | None, patient_id: str | None,
              statuses: Sequence[str] | None, *, table: str = "") -> _Where:
    where = _Where(table)
    for name, values in (("entry_uuid", entry_uuids), ("unique_id", unique_ids),
                         ("logical_id", logical_ids), ("status", statuses)):
        where.within(name, values)
    if patient_id is not None:
        # ITI TF-3 4.2.3.1.4: a patient's objects include those filed under the IDs merged into
        # it, found in the same SELECT.
        where.add(f"{where.column('patient_id')} IN ({_COVERED})", patient_id, patient_id, patient_id)
    return where


_IDENTITIES = PatientIdentity._meta.db_table
# The IDs a query by one patient ID covers: it and, level by level, the IDs merged into it (UNION,
# not UNION ALL, ends a cycle). An ID merged into another no longer names anyone: it covers
# nothing, and its objects answer to the survivor. An ID the feed never named covers itself.
_COVERED = f"""
    WITH RECURSIVE covered (id, patient_id) AS (
        SELECT id, patient_id FROM {_IDENTITIES} WHERE patient_id = %s AND merged_into_id IS NULL
        UNION
        SELECT p.id, p.patient_id FROM {_IDENTITIES} p JOIN covered c ON p.merged_into_id = c.id)
    SELECT patient_id FROM covered
    UNION
    SELECT %s WHERE NOT EXISTS (
        SELECT 1 FROM {_IDENTITIES} WHERE patient_id = %s AND merged_into_id IS NOT NULL)"""  # noqa: S608


def _in(column: str, values: Sequence[str]) -> str:
    # An empty list matches nothing, as the ORM's `__in=[]` does.
    return f"{column} IN ({', '.join(['%s'] * len(values))})" if values else "1 = 0"


def _code_columns(code: str, scheme: str, codes: Sequence[CodeMatch]) -> tuple[str, list[str]]:
    terms, params = [], []
    for value, value_scheme in codes:
        if value_scheme:
            terms.append(f"({code} = %s AND {scheme} = %s)")
            params += [value, value_scheme]
        else:
            terms.append(f"{code} = %s")
            params.append(value)
    return f"({' OR '.join(terms)})" if terms else "1 = 0", params


def _like_regex(pattern: str) -> str:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return "^" + "".join(parts) + "$"


def _select(model: type[Model], columns: Sequence[str], where: _Where, *,
            limit: int) -> list[tuple[Any, ...]]:
    """The rows in insertion order, one more than `limit` at most (XDSTooManyResults)."""
    sql = (f"SELECT {', '.join(columns)} FROM {model._meta.db_table}{where.sql()} "  # noqa: S608
           "ORDER BY id LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*where.params, limit + 1])
        return cursor.fetchall()


def _found(model: type[Model], where: _Where, *, leaf: bool, limit: int) -> list[Found]:
    columns = ["entry_uuid", "home_community_id", "patient_id", *(["ebrim"] if leaf else [])]
    return [Found(entry_uuid=row[0], home_community_id=row[1], patient_id=row[2],
                  ebrim=row[3] if leaf else "")
            for row in _select(model, columns, where, limit=limit)]


# --- Pages for the FHIR facade (MHD 4.2 ITI TF-2 3.66, 3.67): ITI-18's filters, a page at a time.

def document_page(f: DocumentFilter, *, offset: int, limit: int) -> tuple[list[Found], int]:
    """The DocumentEntries `f` selects from `offset`, at most `limit`, with how many it selects
    in all: one SELECT (a window count beside the rows), as FindDocuments makes."""
    return _page(DocumentEntry, _document_where(f), offset=offset, limit=limit)


def submission_set_page(f: SubmissionSetFilter, *, offset: int, limit: int) -> tuple[list[Found], int]:
    return _page(SubmissionSet, _submission_set_where(f), offset=offset, limit=limit)


def folder_page(f: FolderFilter, *, offset: int, limit: int) -> tuple[list[Found], int]:
    where = _identity(f.entry_uuids, f.unique_ids, f.logical_ids, f.patient_id, f.statuses)
    where.time_range("last_update_time", f.last_update_time)
    if f.code_lists:
        where.code_list("codeList", f.code_lists)
    return _page(Folder, where, offset=offset, limit=limit)


def entry_kinds(entry_uuids: Sequence[str]) -> dict[str, str]:
    """"DocumentEntry" or "Folder" for each of the entryUUIDs that names one; two SELECTs."""
    kinds = {u: "DocumentEntry" for u in DocumentEntry.objects.filter(entry_uuid__in=list(entry_uuids))
             .values_list("entry_uuid", flat=True)}
    kinds.update({u: "Folder" for u in Folder.objects.filter(entry_uuid__in=list(entry_uuids))
                  .values_list("entry_uuid", flat=True)})
    return kinds


def _page(model: type[Model], where: _Where, *, offset: int, limit: int) -> tuple[list[Found], int]:
    sql = (f"SELECT entry_uuid, home_community_id, patient_id, ebrim, COUNT(*) OVER () "  # noqa: S608
           f"FROM {model._meta.db_table}{where.sql()} ORDER BY id LIMIT %s OFFSET %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*where.params, limit, offset])
        rows = cursor.fetchall()
        if rows:
            total = int(rows[0][4])
        else:
            # A page past the end (or _count=0) carries no window count: count apart.
            cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table}{where.sql()}",  # noqa: S608
                           where.params)
            total = int(cursor.fetchone()[0])
    return [Found(entry_uuid=r[0], home_community_id=r[1], patient_id=r[2], ebrim=r[3]) for r in rows], total
