"""What the registry's and repository's console lists share at a million rows: searches that are
exact matches on indexed columns, and filters whose choices are fixed or come from small tables."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from registry import metadata, models


class ExactSearch(admin.ModelAdmin):
    """The search box matches `exact_search_fields` exactly. Django's "=col" compares
    UPPER(col) = UPPER(term), which no plain index answers on PostgreSQL; an identifier is
    compared as it is."""

    exact_search_fields: tuple[str, ...] = ()

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return self.exact_search_fields  # non-empty: the changelist shows the search box

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any],
                           search_term: str) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q()
        for name in self.exact_search_fields:
            match |= Q(**{name: term})
        return queryset.filter(match), False


class StatusFilter(admin.SimpleListFilter):
    """availabilityStatus (ITI TF-3 4.2.3.2.2): two fixed values, on an indexed column."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("approved", "Approved"), ("deprecated", "Deprecated")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        statuses = {"approved": models.APPROVED, "deprecated": models.DEPRECATED}
        value = self.value()
        return queryset.filter(status=statuses[value]) if value in statuses else queryset


class CodeFilter(admin.SimpleListFilter):
    """A coded attribute whose choices are the affinity domain's value set (a small table), never
    SELECT DISTINCT over the big one."""

    kind = ""
    code_field = ""
    scheme_field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = models.CodeValue.objects.filter(kind=self.kind).order_by("display_name")[:200]
        return [(f"{v.code}|{v.scheme}", v.display_name or v.code) for v in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        code, _, scheme = (self.value() or "").partition("|")
        if not code:
            return queryset
        return queryset.filter(**{self.code_field: code, self.scheme_field: scheme})


class ClassCodeFilter(CodeFilter):
    title = "class"
    parameter_name = "class"
    kind, code_field, scheme_field = "classCode", "class_code", "class_scheme"


class AssociationTypeFilter(admin.SimpleListFilter):
    """ITI TF-3 4.2.2: the association types are a fixed list."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(t.rsplit(":", 1)[-1], t.rsplit(":", 1)[-1])
                for t in (*metadata.ASSOCIATION_TYPES, metadata.UPDATE_AVAILABILITY_STATUS)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        by_name = {t.rsplit(":", 1)[-1]: t for t in (*metadata.ASSOCIATION_TYPES,
                                                     metadata.UPDATE_AVAILABILITY_STATUS)}
        value = self.value() or ""
        return queryset.filter(association_type=by_name[value]) if value in by_name else queryset
