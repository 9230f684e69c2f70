"""The repository's documents: where each one's bytes are, and what they hash to.

A row exists only for bytes that a committed submission registered (ITI TF-2b 3.41.4.1.3): the
bytes are written first, the row with the registration in one transaction. Bytes without a row
are an interrupted submission's, and the orphan cleanup removes them (repository.tasks).
"""

from __future__ import annotations

from django.db import models


class Document(models.Model):
    unique_id = models.CharField(max_length=128, unique=True)  # XDSDocumentEntry.uniqueId
    key = models.CharField(max_length=255, unique=True)  # the object's name in the store
    size = models.BigIntegerField()
    sha1 = models.CharField("SHA-1", max_length=40)  # lowercase hex, as ITI TF-3 4.2.3.2.13
    mime_type = models.CharField(max_length=128)
    # The affinity-domain patient the registering submission named: for the audit trail of a
    # removal (ITI-86) and the operators' view, not for queries (the registry answers those).
    patient_id = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.unique_id
