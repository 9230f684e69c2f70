"""The operators' view of the repository: which documents it holds (read-only; ITI-41 adds them
and ITI-86 removes them, each audited)."""

from __future__ import annotations

from django.contrib import admin

from ops.admin import ReadOnlyAdmin
from repository.models import Document


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "mime_type", "size", "sha1", "created_at"]
    list_filter = ["mime_type", "created_at"]
    search_fields = ["unique_id", "patient_id", "sha1"]
