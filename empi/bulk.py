"""Domain: an initial load of patient records, linked in one batch and written in bulk.

The load links its records among themselves (empi.matching.batch_link), so it is for an EMPI that
holds no records yet: into one that does, every row is fed as a feed would be
(services.record_feed). So is a row repeating an identifier an earlier row of the file gave (it
updates that record), and a row in the affinity domain's own authority (its identifier is a
person's enterprise ID).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from audit import services as audit
from audit.events import patient_record, this_node
from empi import services
from empi.matching.batch_link import Linkage, batch_link
from empi.matching.blocking import blocking_keys
from empi.matching.record import Demographics
from empi.matching.score import score_pair
from empi.models import BlockingKey, LinkEvent, PatientRecord, Person, ReviewItem
from empi.selectors import affinity_authority
from organisations.models import AssigningAuthority
from registry import services as registry

CHUNK = 10_000  # persons written per transaction
AUDIT_NAMED = 1_000  # enterprise IDs the load's one audit event names at most


@dataclass(frozen=True)
class LoadRow:
    authority: AssigningAuthority
    identifier: str
    demographics: Demographics
    raw: dict[str, Any]


@dataclass
class LoadResult:
    persons: int = 0  # new persons
    linked: int = 0  # records that joined a person another record of the load started
    reviews: int = 0
    fed: list[services.FeedResult] = field(default_factory=list)  # rows fed one by one
    blocks_skipped: int = 0
    pairs_skipped: int = 0


def records_load(*, rows: Sequence[LoadRow], source: str = "initial load") -> LoadResult:
    """Create the records of `rows`, their persons (known to the registry), link history and
    review items; one transaction per CHUNK persons."""
    if PatientRecord.objects.exists():
        return LoadResult(fed=[_feed(row, source) for row in rows])
    seen: set[tuple[int, str]] = set()
    new: list[LoadRow] = []
    again: list[LoadRow] = []
    for row in rows:
        key = (row.authority.pk, row.identifier)
        (again if key in seen or row.authority.is_affinity_domain else new).append(row)
        seen.add(key)
    records = [row.demographics for row in new]
    linkage = batch_link(records, [row.authority.pk for row in new], services.parameters_active(),
                         link_threshold=settings.EMPI_LINK_THRESHOLD,
                         review_threshold=settings.EMPI_REVIEW_THRESHOLD)
    result = LoadResult(blocks_skipped=linkage.candidates.blocks_skipped,
                        pairs_skipped=linkage.candidates.pairs_skipped)
    record_pks, persons = _write(new, linkage, source, result)
    with transaction.atomic():
        _reviews_write(new, linkage, record_pks, persons, result)
        if persons:
            # The load is one operator's action, audited once: its records' link events name the
            # source, and every later feed or query of these patients is audited on its own.
            audit.record(patient_record(
                transaction="ITI-8", action="C", sender=services._sender(source, ""),
                receiver=this_node(services.RECEIVER),
                patient_ids=[p.enterprise_id for p in persons[:AUDIT_NAMED]]))
    # Fresh statistics: without them SQLite's planner finds a feed's candidates through the
    # merged_into index (every record) rather than the blocking key index, 10x slower.
    with connection.cursor() as cursor:
        for model in (PatientRecord, BlockingKey, Person):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    result.fed = [_feed(row, source) for row in again]
    return result


def _feed(row: LoadRow, source: str) -> services.FeedResult:
    return services.record_feed(authority=row.authority, identifier=row.identifier,
                                demographics=row.demographics, raw=row.raw, source=source)


def _write(rows: Sequence[LoadRow], linkage: Linkage, source: str,
           result: LoadResult) -> tuple[list[int], list[Person]]:
    """Persons, records, blocking keys and link events, CHUNK persons per transaction."""
    n = len(rows)
    person_count = int(linkage.person.max()) + 1 if n else 0
    joined_by = _joining_links(linkage, n)
    by_person: list[list[int]] = [[] for _ in range(person_count)]
    for index, person in enumerate(linkage.person.tolist()):
        by_person[person].append(index)
    record_pks = [0] * n
    persons: list[Person] = []
    params = services.parameters_active()
    authority = affinity_authority()
    suffix = f"^^^&{authority.universal_id}&{authority.universal_id_type}"
    for start in range(0, person_count, CHUNK):
        with transaction.atomic():
            chunk = _persons_create(min(CHUNK, person_count - start), suffix)
            persons += chunk
            members = [(i, chunk[p - start]) for p in range(start, start + len(chunk))
                       for i in by_person[p]]
            created = PatientRecord.objects.bulk_create(
                [_record(rows[i], person) for i, person in members], batch_size=1_000)
            for (i, _), record in zip(members, created, strict=True):
                record_pks[i] = record.pk
            # Some ten keys a record: plain executemany, model instances would triple the time.
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {BlockingKey._meta.db_table} (record_id, key) VALUES (%s, %s)",  # noqa: S608
                    [(record.pk, key[:128]) for (i, _), record in zip(members, created, strict=True)
                     for key in sorted(blocking_keys(rows[i].demographics))])
            events = []
            for (i, person), record in zip(members, created, strict=True):
                other = joined_by.get(i)
                if other is None:
                    events.append(LinkEvent(record_id=record.pk, person=person, score=None,
                                            method=LinkEvent.AUTOMATIC, actor=source[:256],
                                            reason="initial load: no candidate linked"))
                    continue
                score = score_pair(rows[i].demographics, rows[other].demographics, params)
                events.append(LinkEvent(record_id=record.pk, person=person, score=score.total,
                                        weights=dict(score.weights), method=LinkEvent.AUTOMATIC,
                                        actor=source[:256], reason="initial load: matched"))
                result.linked += 1
            LinkEvent.objects.bulk_create(events, batch_size=2_000)
    result.persons = len(persons)
    return record_pks, persons


def _joining_links(linkage: Linkage, n: int) -> dict[int, int]:
    """Per record but the first of its person, the record whose link brought it in (its best)."""
    first: dict[int, int] = {}
    for index, person in enumerate(linkage.person.tolist()):
        first.setdefault(person, index)
    best: dict[int, tuple[float, int]] = {}
    left, right = linkage.candidates.left, linkage.candidates.right
    for k in linkage.links.tolist():
        total = float(linkage.scores.totals[k])
        for this, other in ((int(right[k]), int(left[k])), (int(left[k]), int(right[k]))):
            if first[int(linkage.person[this])] != this and total > best.get(this, (-1e300, 0))[0]:
                best[this] = (total, other)
    return {record: other for record, (_, other) in best.items()}


def _persons_create(count: int, suffix: str) -> list[Person]:
    """count new persons, their enterprise IDs numbered by their rows' ids as _person_create does,
    made known to the registry."""
    persons = Person.objects.bulk_create(
        [Person(enterprise_id=f"pending-{uuid.uuid4()}") for _ in range(count)], batch_size=2_000)
    wanted = [f"{p.pk}{suffix}" for p in persons]
    taken = {e for start in range(0, len(wanted), 500) for e in Person.objects.filter(
        enterprise_id__in=wanted[start:start + 500]).values_list("enterprise_id", flat=True)}
    for person in persons:
        number = str(person.pk)
        while f"{number}{suffix}" in taken:
            number = f"{number}0"  # an ID a feed gave already (DESIGN.md, Identities)
        person.enterprise_id = f"{number}{suffix}"
        taken.add(person.enterprise_id)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Person._meta.db_table} SET enterprise_id = %s WHERE id = %s",  # noqa: S608
                           [(p.enterprise_id, p.pk) for p in persons])
    registry.patient_identities_register(patient_ids=[p.enterprise_id for p in persons])
    return persons


def _record(row: LoadRow, person: Person) -> PatientRecord:
    record = PatientRecord(authority=row.authority, identifier=row.identifier, person=person)
    services._set_demographics(record, row.demographics, row.raw)
    return record


def _reviews_write(rows: Sequence[LoadRow], linkage: Linkage, record_pks: list[int],
                   persons: list[Person], result: LoadResult) -> None:
    params = services.parameters_active()
    items = []
    for k in linkage.reviews.tolist():
        later, earlier = int(linkage.candidates.right[k]), int(linkage.candidates.left[k])
        score = score_pair(rows[later].demographics, rows[earlier].demographics, params)
        items.append(ReviewItem(record_id=record_pks[later],
                                candidate=persons[int(linkage.person[earlier])],
                                candidate_record_id=record_pks[earlier], score=score.total,
                                weights=dict(score.weights)))
    ReviewItem.objects.bulk_create(items, batch_size=2_000)
    result.reviews = len(items)
