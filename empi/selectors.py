"""Reads of the EMPI: assigning authorities by name, records, and PIX cross-references."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from django.db import connection
from django.db.models import Q

from empi.errors import NoAffinityDomain
from empi.matching.record import Demographics
from empi.models import BlockingKey, LinkEvent, NotSamePerson, PatientRecord, Person, ReviewItem
from organisations.models import AssigningAuthority
from registry.selectors_patients import documents_count


def authority_find(*, namespace_id: str = "", universal_id: str = "") -> AssigningAuthority | None:
    """The authority a CX-4 names: by its OID when it has one, else by its namespace alone."""
    if universal_id:
        return AssigningAuthority.objects.filter(universal_id=universal_id).first()
    if namespace_id:
        found = list(AssigningAuthority.objects.filter(namespace_id=namespace_id)[:2])
        return found[0] if len(found) == 1 else None
    return None


def affinity_authority() -> AssigningAuthority:
    """The affinity domain's own assigning authority: the one that issues enterprise IDs."""
    authority = AssigningAuthority.objects.filter(is_affinity_domain=True).first()
    if authority is None:
        raise NoAffinityDomain("no assigning authority is marked as the affinity domain's")
    return authority


def record_find(*, authority: AssigningAuthority, identifier: str) -> PatientRecord | None:
    """The current record of `identifier`: None when unknown or merged away (ADT^A40)."""
    return (PatientRecord.objects.select_related("person", "authority")
            .filter(authority=authority, identifier=identifier, merged_into__isnull=True).first())


def identifier_known(*, authority: AssigningAuthority, identifier: str) -> bool:
    """A current source record, or an enterprise ID the EMPI issued (ITI TF-2a 3.9.4.2.2.6 case 3:
    any other identifier is unknown, and so is one merged away by ADT^A40)."""
    if authority.is_affinity_domain and Person.objects.filter(
            enterprise_id=_enterprise_id(authority, identifier)).exists():
        return True
    return PatientRecord.objects.filter(authority=authority, identifier=identifier,
                                        merged_into__isnull=True).exists()


def _enterprise_id(authority: AssigningAuthority, identifier: str) -> str:
    return f"{identifier}^^^&{authority.universal_id}&{authority.universal_id_type}"


@dataclass(frozen=True)
class Candidate:
    """A current record sharing a blocking key with a record being matched: what the matcher
    reads of it, and what the feed needs to choose among candidates."""

    pk: int
    authority_id: int
    person_id: int
    demographics: Demographics


_DEMOGRAPHICS = tuple(f.name for f in fields(Demographics))


def match_candidates(keys: set[str], *, record: PatientRecord | None = None,
                     block_limit: int | None = None) -> list[Candidate]:
    """The current records holding one of `keys`, in id order: one narrow SELECT of the columns
    the matcher reads, no model instances. `record`, being matched again, is left out, with the
    records a steward said are a different person (never proposed again). A key held by more
    than `block_limit` records is too unspecific to block on and is left out (link.FEED_BLOCK_LIMIT)."""
    if not keys:
        return []
    marks = ", ".join(["%s"] * len(keys))
    params: list[str | int] = [*sorted(keys)]
    limit = again = ""
    if block_limit is not None:
        limit = _LARGE_KEYS.format(marks=marks)
        params += [*sorted(keys), block_limit]
    if record is not None:
        again = _NOT_AGAIN
        params += [record.pk, record.pk, record.pk]
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES.format(marks=marks, limit=limit, again=again), params)
        rows = cursor.fetchall()
    return [Candidate(pk=row[0], authority_id=row[1], person_id=row[2],
                      demographics=_demographics(row[3:])) for row in rows]


# Written out, not through the ORM: compiling the ORM's form of this query cost more than running
# it. Every part goes through an index: blocking keys by key (counting a key's records reads the
# index alone), records by id. Table and column names are the models' own (no user input).
_CANDIDATES = (
    f"SELECT r.id, r.authority_id, r.person_id, {', '.join(f'r.{f}' for f in _DEMOGRAPHICS)} "  # noqa: S608
    f"FROM {PatientRecord._meta.db_table} r WHERE r.merged_into_id IS NULL AND r.id IN ("
    f"SELECT record_id FROM {BlockingKey._meta.db_table} WHERE key IN ({{marks}}){{limit}})"
    "{again} ORDER BY r.id")
_LARGE_KEYS = (
    f" AND key NOT IN (SELECT key FROM {BlockingKey._meta.db_table} WHERE key IN ({{marks}}) "  # noqa: S608
    "GROUP BY key HAVING COUNT(*) > %s)")
_NOT_AGAIN = (
    f" AND r.id <> %s AND r.id NOT IN (SELECT second_id FROM {NotSamePerson._meta.db_table} "  # noqa: S608
    f"WHERE first_id = %s) AND r.id NOT IN (SELECT first_id FROM {NotSamePerson._meta.db_table} "
    "WHERE second_id = %s)")


def _demographics(v: tuple[Any, ...]) -> Demographics:
    """As PatientRecord.demographics(), from the columns in Demographics' order. other_family is
    a JSON list: text in SQLite (almost always "[]"), decoded already by PostgreSQL's driver."""
    values = dict(zip(_DEMOGRAPHICS, v, strict=True))
    other = values.pop("other_family")
    if isinstance(other, str):
        other = json.loads(other) if other != "[]" else ()
    return Demographics(**values, other_family=tuple(other or ()))


def person_current(person: Person) -> Person:
    """The person `person` was merged into, following the chain, or `person` itself."""
    seen = {person.pk}
    while person.merged_into_id is not None and person.merged_into_id not in seen:
        seen.add(person.merged_into_id)
        person = Person.objects.get(pk=person.merged_into_id)
    return person


def cross_references(*, authority: AssigningAuthority, identifier: str,
                     domains: Sequence[AssigningAuthority] | None = None
                     ) -> list[tuple[AssigningAuthority, str]]:
    """ITI TF-2a 3.9.4.2.2.6: the identifiers of the same person in other domains, with the
    affinity domain's enterprise ID, limited to `domains` when given (QPD-4). The queried
    identifier itself is returned only when its domain is asked for. Empty when the record is
    unknown, merged away, or the person has no identifier in the domains asked for."""
    record = record_find(authority=authority, identifier=identifier)
    if record is not None:
        person = person_current(record.person)
    elif authority.is_affinity_domain:
        # An enterprise ID the EMPI issued has no source record behind it.
        issued = Person.objects.filter(enterprise_id=_enterprise_id(authority, identifier)).first()
        if issued is None:
            return []
        person = person_current(issued)
    else:
        return []
    wanted = {d.pk for d in domains} if domains else None
    found: list[tuple[AssigningAuthority, str]] = []
    seen: set[tuple[int, str]] = set()
    linked = (PatientRecord.objects.select_related("authority")
              .filter(person=person, merged_into__isnull=True).order_by("authority_id", "identifier"))
    for other in linked:
        if wanted is None and record is not None and other.pk == record.pk:
            continue
        if wanted is not None and other.authority_id not in wanted:
            continue
        seen.add((other.authority_id, other.identifier))
        found.append((other.authority, other.identifier))
    affinity = AssigningAuthority.objects.filter(is_affinity_domain=True).first()
    if affinity is not None and (wanted is None or affinity.pk in wanted):
        enterprise = person.enterprise_id.split("^", 1)[0]
        queried_itself = affinity.pk == authority.pk and enterprise == identifier and wanted is None
        if (affinity.pk, enterprise) not in seen and not queried_itself:
            found.append((affinity, enterprise))
    return found


def person_by_enterprise_id(enterprise_id: str) -> Person | None:
    """The current person an enterprise ID (CX) names, following merges; None when never issued."""
    person = Person.objects.filter(enterprise_id=enterprise_id).first()
    return person_current(person) if person is not None else None


def person_key_by_enterprise_id(enterprise_id: str) -> int | None:
    """The key of the current person an enterprise ID names: one narrow SELECT for a person never
    merged away (a FHIR search names the subject of every document it answers)."""
    row = Person.objects.filter(enterprise_id=enterprise_id).values_list("pk", "merged_into_id").first()
    if row is None:
        return None
    if row[1] is None:
        return int(row[0])
    current = person_find(int(row[1]))
    return current.pk if current is not None else None


def person_find(pk: int) -> Person | None:
    """A person by its key, as the FHIR facade names it (Patient/{pk}), following merges."""
    person = Person.objects.filter(pk=pk).first()
    return person_current(person) if person is not None else None


def person_get(pk: int) -> Person | None:
    """A person by its key as stored, merged away or not: a FHIR read answers the id asked for."""
    return Person.objects.select_related("merged_into").filter(pk=pk).first()


def person_of_identifier(*, authority: AssigningAuthority, identifier: str) -> Person | None:
    """The current person holding `identifier`: its record's, or the one an enterprise ID names."""
    record = record_find(authority=authority, identifier=identifier)
    if record is not None:
        return person_current(record.person)
    if authority.is_affinity_domain:
        return person_by_enterprise_id(_enterprise_id(authority, identifier))
    return None


def records_of_persons(*, person_ids: Sequence[int]) -> dict[int, list[PatientRecord]]:
    """Each person's current records, the most recently fed first, in one query."""
    found: dict[int, list[PatientRecord]] = {pk: [] for pk in person_ids}
    records = (PatientRecord.objects.select_related("authority")
               .filter(person_id__in=list(person_ids), merged_into__isnull=True)
               .order_by("-updated_at", "-id"))
    for record in records:
        found[record.person_id].append(record)
    return found


def persons_by_pk(*, person_ids: Sequence[int]) -> dict[int, Person]:
    return Person.objects.in_bulk(list(person_ids))


# --- The data steward's console.

def patient_ids_of_person(person: Person, *, depth: int = 10) -> list[str]:
    """The affinity-domain patient IDs the registry filed this person's documents under: its
    enterprise ID and those of the persons merged into it, level by level (a merge never
    rewrites a document's patientId; ITI TF-3 4.2.3.1.4). One query per level of merges."""
    found = [person.enterprise_id]
    level = [person.pk]
    seen = set(level)
    for _ in range(depth):
        rows = [row for row in Person.objects.filter(merged_into_id__in=level)
                .values_list("pk", "enterprise_id") if row[0] not in seen]
        if not rows:
            break
        seen.update(pk for pk, _id in rows)
        found += [enterprise_id for _pk, enterprise_id in rows]
        level = [pk for pk, _id in rows]
    return found


def records_of_person(person: Person) -> list[PatientRecord]:
    """Every record on `person`, retired (A40) ones included, with authority and organisation."""
    return list(PatientRecord.objects.filter(person=person)
                .select_related("authority__organisation", "merged_into")
                .order_by("authority__namespace_id", "identifier", "pk"))


@dataclass(frozen=True)
class MergePlan:
    """What a steward's merge of `subsumed` into `survivor` will change (stewardship.persons_merge)."""

    survivor: Person
    subsumed: Person
    moving: list[PatientRecord]  # the subsumed person's records, which move to the survivor
    staying: list[PatientRecord]  # the survivor's own
    retired_id: str  # the subsumed enterprise ID, merged into the survivor's in the registry
    documents: int  # DocumentEntries registered under the retired ID (and IDs merged into it)
    problem: str  # why the merge cannot be done, or ""


def merge_plan(*, survivor: Person, subsumed: Person) -> MergePlan:
    records = (PatientRecord.objects.filter(person__in=[survivor, subsumed])
               .select_related("authority__organisation").order_by("identifier", "pk"))
    moving = [r for r in records if r.person_id == subsumed.pk]
    staying = [r for r in records if r.person_id == survivor.pk]
    problem = ""
    if survivor.pk == subsumed.pk:
        problem = "a person cannot be merged into itself"
    elif survivor.merged_into_id is not None or subsumed.merged_into_id is not None:
        problem = "only persons not merged already can be merged"
    return MergePlan(survivor=survivor, subsumed=subsumed, moving=moving, staying=staying,
                     retired_id=subsumed.enterprise_id,
                     documents=documents_count(patient_ids=patient_ids_of_person(subsumed)),
                     problem=problem)


@dataclass(frozen=True)
class UnmergePlan:
    """What undoing the merge of `person` will change (stewardship.person_unmerge)."""

    person: Person  # restored: current again, with its own enterprise ID
    holder: Person | None  # the person its records sit on now
    returning: list[PatientRecord]
    problem: str


def unmerge_plan(*, person: Person) -> UnmergePlan:
    """The records the merge moved that still sit on the survivor (or on whoever it was merged
    into since): the same choice as stewardship.person_unmerge."""
    if person.merged_into_id is None:
        return UnmergePlan(person=person, holder=None, returning=[],
                           problem="this person is not merged into another")
    survivor = Person.objects.get(pk=person.merged_into_id)
    holder = person_current(survivor)
    moved = LinkEvent.objects.filter(previous_person=person, reason="merge").values("record_id")
    returning = list(PatientRecord.objects.filter(pk__in=moved, person_id__in={survivor.pk, holder.pk})
                     .select_related("authority__organisation").order_by("identifier", "pk"))
    return UnmergePlan(person=person, holder=holder, returning=returning, problem="")


def review_open_next(*, after: ReviewItem | None = None, backwards: bool = False) -> ReviewItem | None:
    """The open review item a steward works next: the highest score first (ties by age). After
    `after`, the one following it in that order (or preceding it, `backwards`)."""
    items = ReviewItem.objects.filter(status=ReviewItem.OPEN)
    if after is None:
        return items.order_by("-score", "pk").first()
    if backwards:
        return (items.filter(Q(score__gt=after.score) | Q(score=after.score, pk__lt=after.pk))
                .order_by("score", "-pk").first())
    return (items.filter(Q(score__lt=after.score) | Q(score=after.score, pk__gt=after.pk))
            .order_by("-score", "pk").first())
