"""The auditors' view of the local audit repository: search, CSV export, chain status."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse

from audit.models import AuditEvent
from audit.selectors import chain_verify
from ops.admin import AuditedAdmin, CappedPaginator

OUTCOMES = {0: "success", 4: "minor failure", 8: "serious failure", 12: "major failure"}
CSV_COLUMNS = ["id", "sequence_id", "event_datetime", "event_id", "event_name", "action_code",
               "outcome", "transaction", "user_id", "source_address", "organisation",
               "patient_ids", "sent_at", "hash"]


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedAdmin):
    paginator = CappedPaginator
    list_display = ["event_datetime", "event_name", "transaction", "outcome_text", "user_id",
                    "organisation", "source_address", "patient_ids", "sequence_id", "sent_at"]
    list_filter = ["event_id", "transaction", "outcome", "organisation", "event_datetime"]
    search_fields = ["patient_ids", "user_id", "source_address", "organisation", "transaction"]
    date_hierarchy = "event_datetime"
    list_per_page = 100
    actions = ["export_csv", "verify_chain"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.display(description="outcome", ordering="outcome")
    def outcome_text(self, event: AuditEvent) -> str:
        return OUTCOMES.get(event.outcome, str(event.outcome))

    # The audit trail is written by the node only: nobody adds, edits or deletes a row.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Export the selected events as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for event in queryset.order_by("id").iterator(chunk_size=2000):
                yield writer.writerow([getattr(event, column) for column in CSV_COLUMNS])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response

    @admin.action(description="Verify the hash chain of the whole trail")
    def verify_chain(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> None:
        report = chain_verify()
        if report.ok:
            self.message_user(request, f"Chain intact: {report.checked} sealed rows, "
                              f"{report.unsealed} not sealed yet.", messages.SUCCESS)
        else:
            self.message_user(request, f"Chain broken at event {report.broken_event_id} "
                              f"(sequenceId {report.broken_sequence_id}): {report.reason}",
                              messages.ERROR)
