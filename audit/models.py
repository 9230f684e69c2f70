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
            # The console's user search is exact or by prefix: LIKE 'name%' on PostgreSQL needs
            # pattern ops whatever the collation (ignored elsewhere).
            models.Index(fields=["user_id"], name="audit_user_prefix",
                         opclasses=["varchar_pattern_ops"]),
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


class AuditPatient(models.Model):
    """One patient an event names, one row each: the `patient_ids` column of AuditEvent is a
    "|"-joined text no index can search, this table is (ITI TF-2 3.20: a patient's accesses)."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="patients")
    patient_id = models.CharField(max_length=256)  # CX, as the record names the patient

    class Meta:
        indexes = [
            # Exact CX and its MRN prefix ("A123^%"): pattern ops let PostgreSQL use the index for
            # LIKE 'A123^%' whatever the database's collation (ignored elsewhere).
            models.Index(fields=["patient_id"], name="audit_patient_id",
                         opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} in event {self.event_id}"


class AuditVerification(models.Model):
    """The result of one walk of the hash chain: the console shows the last one instead of
    walking a million rows on every page view."""

    verified_at = models.DateTimeField(auto_now_add=True, db_index=True)
    verified_by = models.CharField(max_length=150)  # a user name, "audit_verify", "beat"
    intact = models.BooleanField()
    checked = models.BigIntegerField()  # sealed rows found intact before the break, if any
    unsealed = models.BigIntegerField()
    broken_event_id = models.BigIntegerField(null=True)
    broken_sequence_id = models.BigIntegerField(null=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        state = "intact" if self.intact else f"broken at sequenceId {self.broken_sequence_id}"
        return f"chain {state} at {self.verified_at:%Y-%m-%d %H:%M:%S}"
