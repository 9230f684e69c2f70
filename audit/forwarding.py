"""Forwarding sealed audit events to the audit record repository, in sequenceId order.

At least once, never out of order: a batch is marked sent only after the sender confirmed the
session healthy; after an unknown outcome the same rows go again with the same sequenceIds, so
the repository can drop what it already has (RFC 5424 7.3.1, meta sequenceId).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from audit import services
from audit.events import NODE_AUTHENTICATION, node_source, security_alert
from audit.messages import audit_message
from audit.records import from_json
from audit.selectors import unsent_batch
from audit.syslog import AuditTransportError, Sender, format_message, sender_from_url

logger = logging.getLogger(__name__)
BATCH = 500
LEASE_SECONDS = 120


@dataclass(frozen=True)
class Forwarded:
    sealed: int
    sent: int
    error: str = ""


def configured_sender() -> Sender | None:
    return sender_from_url(settings.AUDIT_SYSLOG_URL, ca_file=settings.AUDIT_SYSLOG_CA_FILE,
                           cert_file=settings.AUDIT_SYSLOG_CERT_FILE,
                           key_file=settings.AUDIT_SYSLOG_KEY_FILE,
                           timeout=settings.AUDIT_SYSLOG_TIMEOUT)


def forward_pending() -> Forwarded:
    """Seal what committed, then send everything unsent while the lease is ours."""
    sealed = services.seal_pending()
    sender = configured_sender()
    if sender is None:
        return Forwarded(sealed, 0)  # the local audit table is the repository
    owner = f"{socket.gethostname()}:{os.getpid()}"
    if not services.forwarding_lease_acquire(owner=owner, seconds=LEASE_SECONDS):
        return Forwarded(sealed, 0)
    sent = 0
    try:
        while batch := unsent_batch(limit=BATCH):
            sender.send([_message(event.record, event.sequence_id) for event in batch])
            services.events_mark_sent(ids=[event.id for event in batch])
            sent += len(batch)
            sealed += services.seal_pending()
            services.forwarding_lease_acquire(owner=owner, seconds=LEASE_SECONDS)
        return Forwarded(sealed, sent)
    except AuditTransportError as exc:
        _note_failure(str(exc))
        return Forwarded(sealed, sent, str(exc))
    finally:
        sender.close()
        services.forwarding_lease_release(owner=owner)


def _message(record: dict[str, Any], sequence_id: int | None) -> bytes:
    assert sequence_id is not None
    parsed = from_json(record)
    return format_message(xml=audit_message(parsed), sequence_id=sequence_id,
                          timestamp=parsed.event_datetime, hostname=settings.AUDIT_HOSTNAME,
                          app_name=settings.AUDIT_APP_NAME, procid=str(os.getpid()))


def _note_failure(error: str) -> None:
    logger.error("audit repository did not confirm delivery: %s", error)
    if services.forwarding_failure_note(error=error):
        # Once per failure episode: the alert itself waits in the outbox like every record.
        services.record_alone(security_alert(
            type_code=NODE_AUTHENTICATION, outcome=8, source=node_source(),
            subject=settings.AUDIT_SYSLOG_URL, subject_type="uri",
            description=f"audit repository unreachable or refused the node: {error}"[:500]))
