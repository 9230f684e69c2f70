"""The local audit repository: one row per audit event, sealed into a hash chain, then forwarded."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """An audit record (PS3.15 A.5), written in the same transaction as what it records.

    `record` keeps the whole AuditRecord; the columns beside it are what operators search on.
    `sequence_id`, `prev_hash` and `hash` are set when the row is sealed into the chain, after
    its transaction committed; `sent_at` when the audit repository has it.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    event_datetime = models.DateTimeField(db_index=True)
    event_id = models.CharField(max_length=16, db_index=True)  # 110112, ...
    event_name = models.CharField(max_length=64)
    action_code = models.CharField(max_length=1)
    outcome = models.PositiveSmallIntegerField(db_index=True)  # 0, 4, 8, 12
    transaction = models.CharField(max_length=32, blank=True, db_index=True)  # ITI-18, ...
    user_id = models.CharField(max_length=256, blank=True, db_index=True)
    source_address = models.CharField(max_length=64, blank=True)
    organisation = models.CharField(max_length=64, blank=True, db_index=True)
    patient_ids = models.TextField(blank=True)  # "|" between identifiers, for search
    record = models.JSONField()

    sequence_id = models.BigIntegerField(null=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["sequence_id"], condition=models.Q(sent_at__isnull=True),
                         name="audit_unsent"),
            models.Index(fields=["id"], condition=models.Q(sequence_id__isnull=True),
                         name="audit_unsealed"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.transaction} at {self.event_datetime:%Y-%m-%d %H:%M:%S}"


class AuditChain(models.Model):
    """The head of the hash chain, and the forwarder's lease and health: one row."""

    last_sequence_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True)
    failing_since = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    last_sent_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"audit chain at sequenceId {self.last_sequence_id}"
