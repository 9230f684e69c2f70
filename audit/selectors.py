"""Reads of the audit trail: the chain's verification, the forwarder's backlog, the searches of ITI-81."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from audit.chain import link_hash
from audit.models import AuditChain, AuditEvent, AuditPatient, AuditVerification
from audit.records import from_json

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainReport:
    checked: int
    unsealed: int
    broken_event_id: int | None = None
    broken_sequence_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def chain_verify(*, batch: int = 2000) -> ChainReport:
    """Walk the chain in sequence order; name the first row whose link or content is wrong.

    Rows sealed after the walk began (past the head read first) are left for the next walk.
    """
    head = AuditChain.objects.filter(pk=1).first()
    upto = head.last_sequence_id if head else None
    prev_hash, expected_sequence, checked = GENESIS, 1, 0
    for event in _sealed(batch, upto):
        reason = _broken(event, prev_hash=prev_hash, expected_sequence=expected_sequence)
        if reason:
            return ChainReport(checked, _unsealed(), event.id, event.sequence_id, reason)
        prev_hash, expected_sequence, checked = event.hash, expected_sequence + 1, checked + 1
    if head is None:
        if checked:
            return ChainReport(checked, _unsealed(), None, None, "the chain head is missing")
    elif (head.last_hash, head.last_sequence_id) != (prev_hash, checked):
        # Also when every row is gone: the head still says how far the chain went.
        return ChainReport(checked, _unsealed(), None, head.last_sequence_id,
                           "the chain head does not match its last row (rows removed at the end)")
    else:
        # Sealed while we walked is fine; past the head as it is now, no sealer wrote it.
        now = AuditChain.objects.filter(pk=1).values_list("last_sequence_id", flat=True).first() or 0
        stray = AuditEvent.objects.filter(sequence_id__gt=now).order_by("sequence_id").first()
        if stray is not None:
            return ChainReport(checked, _unsealed(), stray.id, stray.sequence_id,
                               "it lies past the chain head (a row added)")
    return ChainReport(checked, _unsealed())


def _broken(event: AuditEvent, *, prev_hash: str, expected_sequence: int) -> str:
    if event.sequence_id != expected_sequence:
        return f"sequenceId {event.sequence_id} where {expected_sequence} was due (a row removed)"
    if event.prev_hash != prev_hash:
        return "its link to the previous row is broken"
    assert event.sequence_id is not None
    if link_hash(prev_hash=prev_hash, sequence_id=event.sequence_id, record=event.record) != event.hash:
        return "its content no longer matches its hash"
    record = from_json(event.record)
    # The searchable columns must say what the sealed record says.
    derived = {"event_id": record.event_id.code, "outcome": record.outcome,
               "action_code": record.action_code, "transaction": record.transaction,
               "patient_ids": "|".join(record.patient_ids), "event_datetime": record.event_datetime}
    for name, value in derived.items():
        if getattr(event, name) != value:
            return f"its column {name} differs from its sealed record"
    return ""


def _sealed(batch: int, upto: int | None) -> Iterator[AuditEvent]:
    last = 0
    sealed = AuditEvent.objects.filter(sequence_id__isnull=False)
    if upto is not None:
        sealed = sealed.filter(sequence_id__lte=upto)
    while True:
        rows = list(sealed.filter(sequence_id__gt=last).order_by("sequence_id")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].sequence_id or last


def _unsealed() -> int:
    return AuditEvent.objects.filter(sequence_id__isnull=True).count()


def unsent_batch(*, limit: int) -> list[AuditEvent]:
    """The next sealed events the repository does not have yet, in sequenceId order."""
    return list(AuditEvent.objects.filter(sent_at__isnull=True, sequence_id__isnull=False)
                .order_by("sequence_id")[:limit])


@dataclass(frozen=True)
class Lease:
    owner: str  # "host:pid" of the forwarder at work; empty when free or holding off
    until: datetime | None


def forwarding_lease() -> Lease:
    head = AuditChain.objects.filter(pk=1).first()
    return Lease(head.lease_owner, head.lease_until) if head else Lease("", None)


def failing_since() -> datetime | None:
    """Since when deliveries fail; None while they succeed."""
    return AuditChain.objects.filter(pk=1).values_list("failing_since", flat=True).first()


def backlog() -> dict[str, Any]:
    """What an operator asks of the forwarder: how much waits, since when it fails, and why."""
    head = AuditChain.objects.filter(pk=1).first()
    unsent = AuditEvent.objects.filter(sent_at__isnull=True).count()
    return {
        "unsent": unsent,
        "last_sent_at": head.last_sent_at if head else None,
        "failing_since": head.failing_since if head else None,
        "last_error": head.last_error if head else "",
    }


@dataclass(frozen=True)
class EventCriteria:
    """A search of the local audit repository (RESTful ATNA, ITI TF-2 3.81.4.1.2). Each field is
    a list of AND-groups, each group a list of OR-values; an empty list does not narrow."""

    pks: list[list[int]] = field(default_factory=list)
    periods: list[list[tuple[datetime | None, datetime | None]]] = field(default_factory=list)  # [low, high)
    patient_ids: list[list[str]] = field(default_factory=list)  # CX
    object_ids: list[list[str]] = field(default_factory=list)  # any participant object's id
    outcomes: list[list[int]] = field(default_factory=list)
    # (codeSystemName or None for any, code)
    event_ids: list[list[tuple[str | None, str]]] = field(default_factory=list)
    event_types: list[list[tuple[str | None, str]]] = field(default_factory=list)
    source_ids: list[list[str]] = field(default_factory=list)
    # (how: "startswith", "exact" or "contains", value), case-insensitive but for exact
    addresses: list[list[tuple[str, str]]] = field(default_factory=list)
    user_ids: list[list[str]] = field(default_factory=list)  # the requestor's
    alternative_user_ids: list[list[str]] = field(default_factory=list)  # any participant's


TRANSACTIONS_SYSTEM = "IHE Transactions"


def audit_events_find(*, criteria: EventCriteria, offset: int, limit: int) -> tuple[list[AuditEvent], int]:
    """One page of the recorded events that match, newest first, and how many match in all."""
    rows = AuditEvent.objects.annotate(record_text=Cast("record", TextField())).filter(_matching(criteria))
    total = rows.count()
    page = list(rows.order_by("-event_datetime", "-id")[offset:offset + limit]) if limit else []
    return cast(list[AuditEvent], page), total


def audit_event_get(pk: int) -> AuditEvent | None:
    return AuditEvent.objects.filter(pk=pk).first()


def _matching(criteria: EventCriteria) -> Q:
    where = Q()
    for pks in criteria.pks:
        where &= Q(pk__in=pks)
    for periods in criteria.periods:
        where &= _any(Q(**{k: v for k, v in (("event_datetime__gte", low), ("event_datetime__lt", high))
                           if v is not None}) for low, high in periods)
    for patient_ids in criteria.patient_ids:
        where &= _any(_listed("patient_ids", cx) for cx in patient_ids)
    for object_ids in criteria.object_ids:
        where &= _any(_in_record("object_id", value) for value in object_ids)
    for outcomes in criteria.outcomes:
        where &= Q(outcome__in=outcomes)
    for codes in criteria.event_ids:
        where &= _any(_event_id(system, code) for system, code in codes)
    for codes in criteria.event_types:
        where &= _any(_event_type(system, code) for system, code in codes)
    for source_ids in criteria.source_ids:
        where &= Q(record__source__source_id__in=source_ids)
    for addresses in criteria.addresses:
        where &= _any(Q(**{f"source_address__{'i' if how != 'exact' else ''}{how}": value})
                      for how, value in addresses)
    for user_ids in criteria.user_ids:
        where &= Q(user_id__in=user_ids)
    for alternative_user_ids in criteria.alternative_user_ids:
        where &= _any(_in_record("alternative_user_id", value) for value in alternative_user_ids)
    return where


def _any(alternatives: Iterable[Q]) -> Q:
    either = Q(pk__in=[])
    for alternative in alternatives:
        either |= alternative
    return either


def _listed(column: str, value: str) -> Q:
    """`value` as one whole item of a "|"-separated column."""
    return (Q(**{column: value}) | Q(**{f"{column}__startswith": f"{value}|"})
            | Q(**{f"{column}__endswith": f"|{value}"}) | Q(**{f"{column}__contains": f"|{value}|"}))


def _event_id(system: str | None, code: str) -> Q:
    return Q(event_id=code) & (Q(record__event_id__system_name=system) if system is not None else Q())


def _event_type(system: str | None, code: str) -> Q:
    # The IHE transaction has its own column; other EventTypeCodes (a FHIR interaction) are
    # read from the record, where the builders put one.
    other = Q(record__event_type_codes__0__code=code)
    if system is None:
        return Q(transaction=code) | other
    if system == TRANSACTIONS_SYSTEM:
        return Q(transaction=code)
    return other & Q(record__event_type_codes__0__system_name=system)


def _in_record(key: str, value: str) -> Q:
    """A key of the stored record holding exactly `value`, anywhere in it: the record as JSON
    text, as each database writes it (PostgreSQL's jsonb keeps non-ASCII as it is)."""
    ascii_only = connection.vendor != "postgresql"
    return Q(record_text__contains=f'"{key}": {json.dumps(value, ensure_ascii=ascii_only)}')


def chain_status() -> tuple[AuditVerification | None, int]:
    """The last verification kept (audit.services.chain_verification_keep) and how many rows
    wait to be sealed now: two indexed reads, never a walk of the chain."""
    return AuditVerification.objects.order_by("-id").first(), _unsealed()


def events_of_patient(patient: str) -> QuerySet[AuditEvent]:
    """Every event naming the patient, newest first: `patient` is a CX (A123^^^&1.2.3&ISO), or
    an ID alone (A123), which matches that ID under any assigning authority. By the index of
    AuditPatient, never a scan of the "|"-joined column."""
    return AuditEvent.objects.filter(pk__in=patient_event_ids(patient)).order_by("-id")


def patient_event_ids(patient: str) -> QuerySet[AuditPatient, Any]:
    """The ids of the events naming the patient (CX, or ID alone), as a subquery."""
    patient = patient.strip()
    rows = AuditPatient.objects.none()
    if patient and "^" in patient:
        rows = AuditPatient.objects.filter(patient_id=patient)
    elif patient:
        rows = AuditPatient.objects.filter(Q(patient_id=patient) | Q(patient_id__startswith=f"{patient}^"))
    return rows.values("event_id")
