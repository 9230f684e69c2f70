"""Forwarding sealed audit events to the audit record repository (ITI-20), in sequenceId order.

At least once, never out of order: a batch is marked sent only after the sender confirmed the
session healthy; after an unknown outcome the same rows go again with the same sequenceIds, so
the repository can drop what it already has (RFC 5424 7.3.1, meta sequenceId).

One forwarder at a time: it holds the lease on the chain's head and renews it after each batch.
A forwarder that dies keeps the lease until it expires; the next one then takes over and sends
again whatever was not marked sent. A failed delivery releases the lease with a hold-off that
grows with the failure episode (exponential backoff, capped): kicks and beat arriving meanwhile
find the lease taken and return at once, so a repository that is down costs one connection
attempt per hold-off however many records are written.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from audit import selectors, services
from audit.events import NODE_AUTHENTICATION, SECURITY_CONFIGURATION, node_source, security_alert
from audit.messages import audit_message
from audit.models import AuditEvent
from audit.records import from_json
from audit.syslog import (
    MAX_SEQUENCE_ID,
    AuditTransportError,
    Sender,
    TlsSyslogSender,
    format_message,
    sender_from_url,
)

logger = logging.getLogger(__name__)

# Records carrying big queries must not make one batch hold hundreds of megabytes.
MAX_BATCH_BYTES = 8 * 1024 * 1024
MIN_BACKOFF_SECONDS = 1.0

# Problems of configuration already logged by this process: said once, loudly, not per kick.
_logged_problems: set[str] = set()


@dataclass(frozen=True)
class Forwarded:
    """What one run did: rows sealed, rows the repository confirmed, why it stopped short."""

    sealed: int
    sent: int
    error: str = ""


def configured_sender() -> Sender | None:
    """The sender the settings describe; None when no audit repository is configured.

    Raises ValueError when the settings cannot describe one (a malformed URL, missing files).
    """
    sender = sender_from_url(settings.AUDIT_SYSLOG_URL, ca_file=settings.AUDIT_SYSLOG_CA_FILE,
                             cert_file=settings.AUDIT_SYSLOG_CERT_FILE,
                             key_file=settings.AUDIT_SYSLOG_KEY_FILE,
                             timeout=settings.AUDIT_SYSLOG_TIMEOUT)
    if isinstance(sender, TlsSyslogSender):
        sender.probe_timeout = settings.AUDIT_SYSLOG_PROBE_TIMEOUT
    return sender


def forward_pending() -> Forwarded:
    """Seal what committed, then send everything unsent while the lease is ours."""
    sealed = services.seal_pending()
    try:
        sender = configured_sender()
        if sender is None:
            return Forwarded(sealed, 0)  # the local audit table is the repository
        _check_header_fields()
    except ValueError as exc:
        return Forwarded(sealed, 0, _misconfigured(str(exc)))
    owner = f"{socket.gethostname()}:{os.getpid()}"
    lease_seconds = settings.AUDIT_FORWARD_LEASE_SECONDS
    batch_size = settings.AUDIT_FORWARD_BATCH
    before = selectors.forwarding_lease()
    if not services.forwarding_lease_acquire(owner=owner, seconds=lease_seconds):
        return Forwarded(sealed, 0)  # another forwarder is at work, or the hold-off runs
    if before.owner and before.owner != owner:
        logger.warning("took over the audit forwarding lease from %s, which expired at %s",
                       before.owner, before.until)
    sent, error = 0, ""
    try:
        while batch := selectors.unsent_batch(limit=batch_size):
            messages, ids = _within_budget(batch)
            sender.send(messages)
            services.events_mark_sent(ids=ids)
            sent += len(ids)
            sealed += services.seal_pending()
            if not services.forwarding_lease_acquire(owner=owner, seconds=lease_seconds):
                # Too slow for the lease: another forwarder took over; two must not interleave.
                logger.warning("audit forwarding lease lost to another forwarder after %d record(s)",
                               sent)
                break
    except AuditTransportError as exc:
        error = str(exc)
    finally:
        sender.close()
        hold = _note_failure(error) if error else 0.0
        services.forwarding_lease_release(owner=owner, hold_seconds=hold)
    return Forwarded(sealed, sent, error)


def _within_budget(batch: list[AuditEvent]) -> tuple[list[bytes], list[int]]:
    """The batch's first messages, up to MAX_BATCH_BYTES (at least one); the rest wait their turn."""
    messages: list[bytes] = []
    ids: list[int] = []
    size = 0
    for event in batch:
        message = _message(event.record, event.sequence_id)
        if messages and size + len(message) > MAX_BATCH_BYTES:
            break
        messages.append(message)
        ids.append(event.id)
        size += len(message)
    return messages, ids


def wire_sequence_id(sequence_id: int) -> int:
    """RFC 5424 7.3.1: sequenceId runs 1..2147483647, then starts again at 1."""
    return (sequence_id - 1) % MAX_SEQUENCE_ID + 1


def _message(record: dict[str, Any], sequence_id: int | None) -> bytes:
    assert sequence_id is not None
    parsed = from_json(record)
    return format_message(xml=audit_message(parsed), sequence_id=wire_sequence_id(sequence_id),
                          timestamp=parsed.event_datetime, hostname=settings.AUDIT_HOSTNAME,
                          app_name=settings.AUDIT_APP_NAME, procid=str(os.getpid()))


def _check_header_fields() -> None:
    # What format_message would refuse for every record: found before a batch is taken.
    format_message(xml=b"<AuditMessage/>", sequence_id=1, timestamp=timezone.now(),
                   hostname=settings.AUDIT_HOSTNAME, app_name=settings.AUDIT_APP_NAME,
                   procid=str(os.getpid()))


def _misconfigured(problem: str) -> str:
    """Nothing can be sent until the settings change: say so once per process, keep the records."""
    error = f"audit forwarding is misconfigured: {problem}"
    if problem not in _logged_problems:
        _logged_problems.add(problem)
        logger.error("%s; audit records are kept and sent once the settings are fixed", error)
    _note_failure(error, type_code=SECURITY_CONFIGURATION, description=error, log=False)
    return error


def _note_failure(error: str, *, type_code: str = NODE_AUTHENTICATION, description: str = "",
                  log: bool = True) -> float:
    """Record the failure on the chain's head; the seconds to hold off before the next attempt."""
    started = services.forwarding_failure_note(error=error)
    failing_since = selectors.failing_since()
    elapsed = (timezone.now() - failing_since).total_seconds() if failing_since else 0.0
    # Half the episode so far: attempts at 0, 1, 2, 3, 4.5, 6.8 ... s, up to the cap.
    cap = float(settings.AUDIT_FORWARD_MAX_BACKOFF_SECONDS)
    hold = min(cap, max(MIN_BACKOFF_SECONDS, elapsed / 2))
    if log:
        logger.log(logging.ERROR if started else logging.WARNING,
                   "audit repository did not confirm delivery: %s; next attempt in %.1f s",
                   error, hold)
    if started:
        # Once per failure episode: the alert itself waits in the outbox like every record.
        services.record_alone(security_alert(
            type_code=type_code, outcome=8, source=node_source(),
            subject=settings.AUDIT_SYSLOG_URL or "-", subject_type="uri",
            description=(description or f"audit repository unreachable or refused the node: {error}")[:500]))
    return hold
