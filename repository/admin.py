"""The operators' view of the repository: which documents it holds (read-only; ITI-41 adds them
and ITI-86 removes them, each audited; the console's delete and download are on the registry's
DocumentEntry pages)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from ops.admin import ReadOnlyAdmin
from registry.admin_lists import ExactSearch
from repository.models import Document


@admin.register(Document)
class DocumentAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "mime_type", "size", "sha1", "created_at", "entries"]
    exact_search_fields = ("unique_id",)
    search_help_text = "an exact document uniqueId"
    # The model orders by created_at, which has no index: the newest rows by primary key instead.
    ordering = ["-pk"]
    sortable_by = ("unique_id",)

    @admin.display(description="registry")
    def entries(self, document: Document) -> SafeString:
        url = reverse("admin:registry_documententry_changelist") + "?" + urlencode({"q": document.unique_id})
        return format_html('<a href="{}">entries</a>', url)
