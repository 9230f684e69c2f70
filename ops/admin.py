"""What the operators' console shares across apps: every change and action audited, lists that
stay fast on tables of millions of rows, and the read-only pages of what transactions write."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.functional import cached_property

from audit.events import SOFTWARE_CONFIGURATION
from ops.console import console_change

# A list counts at most this many rows: past it the page says "10,000+" (COUNT(*) over a million
# rows costs more than the whole page should).
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts up to COUNT_CAP + 1 rows (a LIMITed subquery on the list's index), never the table."""

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, QuerySet):
            return int(object_list[:COUNT_CAP + 1].count())
        return len(object_list)


def audited_by_service(action: Callable[..., Any]) -> Callable[..., Any]:
    """Marks an admin action whose service writes its own audit record (a merge is a Patient
    Record event), so the console does not write a second one."""
    action.audited_by_service = True  # type: ignore[attr-defined]
    return action


class AuditedAdmin(admin.ModelAdmin):
    """Each add, change, delete and action in the console is audited as a Security Alert of
    `audit_type_code` (DCM CID 403), in the same transaction as the change where there is one.

    Large tables set `paginator = CappedPaginator` (with show_full_result_count off) so a list
    page never counts a million rows.
    """

    audit_type_code = SOFTWARE_CONFIGURATION
    show_full_result_count = False

    def audit_organisation(self, obj: Any) -> str:
        """The organisation code the change concerns, for the trail's organisation column."""
        organisation = getattr(obj, "organisation", None)
        return str(getattr(organisation, "code", "") or getattr(obj, "code", "") or "")

    def _audit(self, request: HttpRequest, obj: Model, verb: str, message: Any = "") -> None:
        what = f"{self.model._meta.verbose_name} {obj}"
        detail = f": {message}" if message and isinstance(message, str) else ""
        console_change(request, type_code=self.audit_type_code,
                       description=f"{what} {verb} by {request.user.get_username()}{detail}",
                       subject=f"{self.model._meta.label_lower}/{obj.pk}",
                       organisation=self.audit_organisation(obj))

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit(request, obj, "added")
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit(request, obj, "changed", _changed_fields(message))
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self._audit(request, obj, "deleted")
        return super().log_deletions(request, queryset)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)
        return {name: (self._audited_action(func, name), name, description)
                for name, (func, _name, description) in actions.items()}

    def _audited_action(self, func: Callable[..., Any], name: str) -> Callable[..., Any]:
        if getattr(func, "audited_by_service", False) or name == "delete_selected":
            return func  # its service audits, or log_deletions does

        @functools.wraps(func)
        def run(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
            response = func(modeladmin, request, queryset)
            if not _intermediate(response):
                ids = ", ".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:20])
                console_change(request, type_code=self.audit_type_code,
                               description=(f"{name} on {self.model._meta.verbose_name_plural} "
                                            f"[{ids}] by {request.user.get_username()}"),
                               subject=self.model._meta.label_lower)
            return response
        return run


def _intermediate(response: HttpResponse | None) -> bool:
    """A confirmation page an action shows before it acts: nothing was done yet."""
    return isinstance(response, TemplateResponse) or bool(getattr(response, "intermediate", False))


def _changed_fields(message: Any) -> str:
    # The admin's change message is JSON like [{"changed": {"fields": ["Port"]}}].
    if isinstance(message, list):
        names = [name for part in message for name in part.get("changed", {}).get("fields", [])]
        return "fields " + ", ".join(names) if names else ""
    return ""


class ReadOnlyAdmin(AuditedAdmin):
    """Rows only the node's transactions write (registered metadata, stored documents, the audit
    trail, the manifest index): operators see them and change them only through those transactions."""

    list_per_page = 100
    paginator = CappedPaginator

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """The rows under another (a person's records, a job's studies), shown as they are: they
    change only through the services the parent's actions call."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


from ops import admin_auth  # noqa: E402,F401  (users and roles re-registered, audited)

admin.site.site_header = "hienode: the exchange's console"
admin.site.site_title = "hienode console"
admin.site.index_title = "The exchange at a glance"
from ops import admin_dashboard  # noqa: E402,F401
