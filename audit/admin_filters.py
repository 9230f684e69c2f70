"""The audit list's filters: every choice is fixed or from the small organisations table, and
every filter is one an index answers (no SELECT DISTINCT over a million events)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.events import TRANSACTIONS
from audit.events import common as codes
from audit.models import AuditEvent
from organisations.models import Organisation

OUTCOMES = {0: "success", 4: "minor failure", 8: "serious failure", 12: "major failure"}
# DCM CID 400, the event IDs the node writes (PS3.15 A.5.3).
EVENT_KINDS = [codes.APPLICATION_ACTIVITY, codes.AUDIT_LOG_USED, codes.INSTANCES_TRANSFERRED,
               codes.EXPORT, codes.IMPORT, codes.PATIENT_RECORD, codes.QUERY, codes.SECURITY_ALERT,
               codes.USER_AUTHENTICATION]
PERIODS = {"1h": ("last hour", timedelta(hours=1)), "24h": ("last 24 hours", timedelta(days=1)),
           "7d": ("last 7 days", timedelta(days=7)), "30d": ("last 30 days", timedelta(days=30))}


class EventKindFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code.code, code.display_name) for code in EVENT_KINDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(event_id=self.value()) if self.value() else queryset


class TransactionFilter(admin.SimpleListFilter):
    title = "transaction"
    parameter_name = "transaction"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, f"{code} {name}") for code, name in TRANSACTIONS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(transaction=self.value()) if self.value() else queryset


class OutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(code), text) for code, text in OUTCOMES.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            raise IncorrectLookupParameters(f"no outcome {value}")
        return queryset.filter(outcome=int(value))


class OrganisationFilter(admin.SimpleListFilter):
    """The organisations of the affinity domain, from their own (small) table."""

    title = "organisation"
    parameter_name = "organisation"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, f"{name} ({code})")
                for code, name in Organisation.objects.order_by("name").values_list("code", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        return queryset.filter(organisation=self.value()) if self.value() else queryset


class PeriodFilter(admin.SimpleListFilter):
    title = "when"
    parameter_name = "period"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _span) in PERIODS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        value = self.value()
        if not value:
            return queryset
        if value not in PERIODS:
            raise IncorrectLookupParameters(f"no period {value}")
        return queryset.filter(event_datetime__gte=timezone.now() - PERIODS[value][1])


class _InputFilter(admin.ListFilter):
    """A filter typed into a small GET form; the list's other parameters ride along hidden."""

    template = "admin/audit/input_filter.html"
    fields: tuple[tuple[str, str, str], ...] = ()  # (parameter, label, input type)

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: type[Model],
                 model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        for name, _label, _kind in self.fields:
            if name in params:
                value = params.pop(name)
                value = value[-1] if isinstance(value, list) else value
                if value:
                    self.used_parameters[name] = value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [name for name, _label, _kind in self.fields]

    def typed(self, name: str) -> str:
        return str(self.used_parameters.get(name, "")).strip()

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        mine = {name for name, _label, _kind in self.fields}
        yield {
            "inputs": [(name, label, kind, self.used_parameters.get(name, ""))
                       for name, label, kind in self.fields],
            "hidden": [(key, value) for key, value in changelist.params.items() if key not in mine],
            "clear": changelist.get_query_string(remove=list(mine)),
            "used": bool(self.used_parameters),
        }


class UserFilter(_InputFilter):
    """The user ID as recorded, or its beginning (an index's prefix scan)."""

    title = "user"
    fields = (("user", "user ID or its beginning", "text"),)

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        user = self.typed("user")
        return queryset.filter(user_id__startswith=user) if user else queryset


class TimeRangeFilter(_InputFilter):
    """From (inclusive) to (exclusive); a date alone is its midnight, in the node's time zone."""

    title = "time range"
    fields = (("from", "from", "datetime-local"), ("until", "until", "datetime-local"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        low, high = (_moment(self.typed(name)) for name in ("from", "until"))
        if low is not None:
            queryset = queryset.filter(event_datetime__gte=low)
        if high is not None:
            queryset = queryset.filter(event_datetime__lt=high)
        return queryset


def _moment(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise IncorrectLookupParameters(f"not a date and time: {text}")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
