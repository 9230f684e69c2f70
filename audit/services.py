"""Writes of the audit trail: record an event, seal recorded events into the chain."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.chain import link_hash
from audit.models import AuditChain, AuditEvent, AuditPatient, AuditVerification
from audit.records import AuditRecord, to_json

if TYPE_CHECKING:
    from audit.selectors import ChainReport

# Forwarding is started at most this often per process; beat's safety net covers the rest.
_KICK_INTERVAL = 0.5
_last_kick = 0.0
_kick_lock = threading.Lock()


def record(record: AuditRecord, *, organisation: str = "") -> AuditEvent:
    """Write an audit event in the caller's transaction: it commits or rolls back with it.

    A failed or refused request has no business change to ride on: its edge calls this inside
    `transaction.atomic()` of its own, after the request's transaction rolled back.
    """
    requestor = record.requestor
    # ITI TF-2: a human requestor, when known, is a second requestor beside the system; the
    # trail's user column names the person, so an auditor's "what did this user do" finds them.
    requestors = [p for p in record.participants if p.is_requestor]
    user = requestors[-1] if requestors else None
    event = AuditEvent.objects.create(
        event_datetime=record.event_datetime,
        event_id=record.event_id.code,
        event_name=record.event_id.display_name[:64],
        action_code=record.action_code,
        outcome=record.outcome,
        transaction=record.transaction,
        user_id=(user.user_id if user else "")[:256],
        source_address=((user.network_access_point_id if user else "")
                        or (requestor.network_access_point_id if requestor else ""))[:64],
        organisation=organisation[:64],
        patient_ids="|".join(record.patient_ids),
        record=to_json(record),
    )
    if record.patient_ids:
        # The patient search's index (AuditPatient): one insert, in the same transaction.
        AuditPatient.objects.bulk_create(
            [AuditPatient(event=event, patient_id=cx[:256]) for cx in record.patient_ids if cx])
    transaction.on_commit(_kick_forwarding)
    return event


def record_alone(record_: AuditRecord, *, organisation: str = "") -> AuditEvent:
    """Record in a transaction of its own: for refusals, whose request changed nothing."""
    with transaction.atomic():
        return record(record_, organisation=organisation)


def _kick_forwarding() -> None:
    global _last_kick
    with _kick_lock:
        now = time.monotonic()
        if now - _last_kick < _KICK_INTERVAL:
            return
        _last_kick = now
    from audit.tasks import forward_audit_events

    try:
        forward_audit_events.delay()
    except Exception:  # the broker may be down; beat's safety net retries
        _last_kick = 0.0


def seal_pending(*, limit: int = 2000) -> int:
    """Give committed, unsealed events their sequenceId and chain hash, in commit-visible order.

    One sealer at a time: the chain head is locked for update (SQLite's IMMEDIATE transactions
    serialize writers anyway). Returns how many rows were sealed.
    """
    with transaction.atomic():
        head = _chain_head(for_update=True)
        pending = list(AuditEvent.objects.filter(sequence_id__isnull=True).order_by("id")[:limit])
        sequence_id, prev_hash = head.last_sequence_id, head.last_hash
        for event in pending:
            sequence_id += 1
            event.sequence_id = sequence_id
            event.prev_hash = prev_hash
            event.hash = prev_hash = link_hash(prev_hash=prev_hash, sequence_id=sequence_id,
                                               record=event.record)
        if pending:
            _write_seals(pending)
            head.last_sequence_id, head.last_hash = sequence_id, prev_hash
            head.save(update_fields=["last_sequence_id", "last_hash"])
    return len(pending)


def _write_seals(events: list[AuditEvent]) -> None:
    # One prepared UPDATE run for every row: bulk_update's CASE expressions cost about a
    # millisecond a row to build, which made sealing slower than sending. Only the model's
    # own names go into the SQL; every value is bound.
    table, quote = AuditEvent._meta.db_table, connection.ops.quote_name
    sql = (f"UPDATE {quote(table)} SET {quote('sequence_id')} = %s, {quote('prev_hash')} = %s, "  # noqa: S608
           f"{quote('hash')} = %s WHERE {quote('id')} = %s")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(e.sequence_id, e.prev_hash, e.hash, e.id) for e in events])


def _chain_head(*, for_update: bool) -> AuditChain:
    if for_update:
        head = AuditChain.objects.select_for_update().filter(pk=1).first()
        if head is not None:
            return head
    head, _ = AuditChain.objects.get_or_create(pk=1)
    if for_update:
        # Created just now, maybe by a concurrent sealer: lock the row whoever inserted it.
        head = AuditChain.objects.select_for_update().get(pk=1)
    return head


def forwarding_lease_acquire(*, owner: str, seconds: int) -> bool:
    """Take (or renew) the forwarder's lease unless another live forwarder holds it, or a failed
    attempt's hold-off has not run out (see audit.forwarding)."""
    now = timezone.now()
    _chain_head(for_update=False)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    return bool(AuditChain.objects.filter(free, pk=1).update(
        lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))


def forwarding_lease_release(*, owner: str, hold_seconds: float = 0) -> None:
    """Give the lease back; with `hold_seconds`, nobody takes it before they passed (backoff)."""
    until = timezone.now() + timedelta(seconds=hold_seconds) if hold_seconds > 0 else None
    AuditChain.objects.filter(pk=1, lease_owner=owner).update(lease_owner="", lease_until=until)


def events_mark_sent(*, ids: list[int]) -> None:
    """The repository has these events: they leave the backlog, and a failure episode ends."""
    now = timezone.now()
    AuditEvent.objects.filter(id__in=ids).update(sent_at=now)
    AuditChain.objects.filter(pk=1).update(last_sent_at=now, failing_since=None, last_error="")


def forwarding_failure_note(*, error: str) -> bool:
    """Note a failed delivery; True when this starts a new failure episode (alert once)."""
    now = timezone.now()
    _chain_head(for_update=False)
    started = AuditChain.objects.filter(pk=1, failing_since__isnull=True).update(
        failing_since=now, last_error=error[:2000])
    if not started:
        AuditChain.objects.filter(pk=1).update(last_error=error[:2000])
    return bool(started)


def chain_verification_keep(*, report: ChainReport, verified_by: str) -> AuditVerification:
    """Keep the result of a walk of the chain (audit.selectors.chain_verify), so the console
    shows the last one without walking the trail again."""
    return AuditVerification.objects.create(
        verified_by=verified_by[:150], intact=report.ok, checked=report.checked,
        unsealed=report.unsealed, broken_event_id=report.broken_event_id,
        broken_sequence_id=report.broken_sequence_id, reason=report.reason)
