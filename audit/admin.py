"""The auditors' view of the local audit repository: search (each by an index), a patient's
access history, CSV export, and the hash chain's last verification. Reading any of it is
itself audited as Audit Log Used (PS3.15 A.5.3.2)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.http import urlencode

from audit import admin_filters as filters
from audit.events import TRANSACTIONS
from audit.models import AuditEvent
from audit.selectors import chain_status, chain_verify, events_of_patient, patient_event_ids
from audit.services import chain_verification_keep
from ops.admin import AuditedAdmin, CappedPaginator, audited_by_service
from ops.console import audit_log_read

OUTCOMES = filters.OUTCOMES
ACTIONS = {"C": "create", "R": "read", "U": "update", "D": "delete", "E": "execute"}
CSV_COLUMNS = ["id", "sequence_id", "event_datetime", "event_id", "event_name", "action_code",
               "outcome", "transaction", "user_id", "source_address", "organisation",
               "patient_ids", "sent_at", "hash"]
HISTORY_PER_PAGE = 100


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(events: QuerySet[AuditEvent], filename: str) -> StreamingHttpResponse:
    """The events as CSV, streamed in id order a chunk at a time (an export may be millions)."""
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for event in events.order_by("id").iterator(chunk_size=2000):
            yield writer.writerow([getattr(event, column) for column in CSV_COLUMNS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(AuditEvent)
class AuditEventAdmin(AuditedAdmin):
    paginator = CappedPaginator
    list_display = ["event_datetime", "event_name", "transaction", "outcome_text", "user_id",
                    "organisation", "source_address", "patients", "sequence_id", "sent_at"]
    list_filter = [filters.PeriodFilter, filters.TimeRangeFilter, filters.EventKindFilter,
                   filters.TransactionFilter, filters.OutcomeFilter, filters.OrganisationFilter,
                   filters.UserFilter]
    # The search box is the patient's: by the index of AuditPatient (see get_search_results).
    search_fields = ["patient_ids"]
    search_help_text = "A patient ID: a CX (A123^^^&1.2.3&ISO) or the ID alone (A123)."
    sortable_by = ["event_datetime", "sequence_id"]
    list_per_page = 100
    actions = ["export_csv", "verify_chain"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.display(description="outcome", ordering="outcome")
    def outcome_text(self, event: AuditEvent) -> str:
        return OUTCOMES.get(event.outcome, str(event.outcome))

    @admin.display(description="patients")
    def patients(self, event: AuditEvent) -> str:
        """Each patient ID, linked to that patient's access history."""
        history = reverse("admin:audit_patient_history")
        return format_html_join(", ", '<a href="{}?{}">{}</a>', (
            (history, urlencode({"patient": cx}), cx)
            for cx in event.patient_ids.split("|") if cx))

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        # The stored record is shown on an event's page only; the list never loads it.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name != "audit_auditevent_change":
            queryset = queryset.defer("record")
        return queryset

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[AuditEvent],
                           search_term: str) -> tuple[QuerySet[AuditEvent], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=patient_event_ids(search_term)), False

    # The audit trail is written by the node only: nobody adds, edits or deletes a row.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("patient/", wrap(self.patient_history_view), name="audit_patient_history"),
            path("export/", wrap(self.export_view), name="audit_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None
                        ) -> HttpResponse:
        response = super().changelist_view(request, {
            **(extra_context or {}), "chain": _chain_context()})
        if request.method == "GET" and response.status_code == 200:
            audit_log_read(request, description="the audit event list")
        return response

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            audit_log_read(request, description=f"audit event {object_id}")
        return response

    def patient_history_view(self, request: HttpRequest) -> HttpResponse:
        """Every event that touched one patient, newest first: who, what, outcome, when."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        patient = request.GET.get("patient", "").strip()
        page = None
        if patient:
            paginator = CappedPaginator(events_of_patient(patient).defer("record"), HISTORY_PER_PAGE)
            page = paginator.get_page(request.GET.get("p"))
            audit_log_read(request, description=f"access history of patient {patient}")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"Access history of {patient}" if patient else "A patient's access history",
            "patient": patient, "page": page, "rows": _history_rows(page or []),
        }
        return TemplateResponse(request, "admin/audit/auditevent/patient_history.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        """The list's current search and filters (every matching event, not one page) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{reverse('admin:audit_auditevent_changelist')}?{ERROR_FLAG}=1")
        audit_log_read(request, action_code="E", description="audit events exported as CSV")
        return csv_response(changelist.queryset, "audit-events.csv")

    @audited_by_service  # recorded as Audit Log Used, action E
    @admin.action(description="Export the selected events as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> StreamingHttpResponse:
        audit_log_read(request, action_code="E", description="selected audit events exported as CSV")
        return csv_response(queryset, "audit-events.csv")

    @admin.action(description="Verify the hash chain of the whole trail")
    def verify_chain(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> None:
        report = chain_verify()
        chain_verification_keep(report=report, verified_by=request.user.get_username())
        if report.ok:
            self.message_user(request, f"Chain intact: {report.checked} sealed rows, "
                              f"{report.unsealed} not sealed yet.", messages.SUCCESS)
        else:
            self.message_user(request, f"Chain broken at event {report.broken_event_id} "
                              f"(sequenceId {report.broken_sequence_id}): {report.reason}",
                              messages.ERROR)


def _chain_context() -> dict[str, Any]:
    last, unsealed = chain_status()
    return {"last": last, "unsealed": unsealed}


def _history_rows(events: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    return [{
        "event": event,
        "url": reverse("admin:audit_auditevent_change", args=[event.pk]),
        "transaction": (f"{event.transaction} {TRANSACTIONS.get(event.transaction, '')}".strip()
                        if event.transaction else ""),
        "action": ACTIONS.get(event.action_code, event.action_code),
        "outcome": OUTCOMES.get(event.outcome, str(event.outcome)),
    } for event in events]

