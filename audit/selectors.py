"""Reads of the audit trail: the chain's verification, and the forwarder's backlog."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from audit.chain import link_hash
from audit.models import AuditChain, AuditEvent
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
