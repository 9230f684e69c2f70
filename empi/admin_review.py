"""The data steward's review queue: a record and its candidate side by side, with the matcher's
per-field weights, and three decisions a key away (a: link, n: not the same person, d: dismiss;
j/k: the next or previous open item). After a decision the steward lands on the next open item.

Each decision is a service of empi.services that writes its own audit record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from empi import services
from empi.admin import FIELDS, StewardActions, actor_of
from empi.models import PatientRecord, ReviewItem
from empi.selectors import review_open_next
from ops.admin import ReadOnlyAdmin, audited_by_service

# The decisions, by the path of their view: (the service, the key that presses the button, label).
DECISIONS = {
    "accept": (services.review_accept, "a", "Same person: link"),
    "reject": (services.review_reject, "n", "Not the same person"),
    "dismiss": (services.review_dismiss, "d", "Reject: leave as is"),
}


class ReviewStatusFilter(admin.SimpleListFilter):
    """Open items unless asked otherwise: the queue is what waits for a steward."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*ReviewItem.STATUSES, ("all", "all")]

    def choices(self, changelist: Any) -> Iterator[Any]:
        current = self.value() or ReviewItem.OPEN
        for value, label in self.lookup_choices:
            yield {"selected": current == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
        value = self.value() or ReviewItem.OPEN
        return queryset if value == "all" else queryset.filter(status=value)


def readable(record: PatientRecord) -> str:
    # The MRN with its authority's namespace: the whole CX (with its OID) is on the item's page.
    site = record.authority.namespace_id or record.authority.universal_id
    return f"{record.family}, {record.given} {record.birth_date} ({record.identifier} at {site})"


@admin.register(ReviewItem)
class ReviewItemAdmin(StewardActions, ReadOnlyAdmin):
    list_display = ["record_shown", "candidate_shown", "score_shown", "status", "created_at",
                    "decided_by"]
    list_filter = [ReviewStatusFilter]
    list_select_related = ["record__authority", "candidate", "candidate_record__authority"]
    search_fields = ["=record__identifier", "=candidate__enterprise_id"]
    ordering = ["-score", "pk"]
    fields = readonly_fields = ("record", "candidate", "score_shown", "status", "created_at",
                                "decided_by", "decided_at")
    actions = ["accept", "reject", "dismiss"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewItem]:
        return super().get_queryset(request).select_related(
            "record__authority", "candidate", "candidate_record__authority")

    @admin.display(description="record", ordering="record__family")
    def record_shown(self, item: ReviewItem) -> str:
        return readable(item.record)

    @admin.display(description="candidate")
    def candidate_shown(self, item: ReviewItem) -> str:
        return f"{readable(item.candidate_record)}, person {item.candidate.enterprise_id.split('^')[0]}"

    @admin.display(description="score (bits)", ordering="score")
    def score_shown(self, item: ReviewItem) -> str:
        return f"{item.score:.2f}"

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> HttpResponse:
        if obj is not None:
            context.update(self.review_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def review_context(self, request: HttpRequest, item: ReviewItem) -> dict[str, Any]:
        record, other = item.record, item.candidate_record
        rows = []
        for name in [*FIELDS, *(n for n in item.weights if n not in FIELDS)]:
            mine, theirs = getattr(record, name, ""), getattr(other, name, "")
            weight = item.weights.get(name)
            # The matcher's weight says whether a field agreed (a typo may still agree); without
            # one, equal values agree and a missing value says nothing.
            if weight is not None and weight != 0:
                verdict = "agrees" if weight > 0 else "disagrees"
            elif mine and theirs:
                verdict = "agrees" if mine == theirs else "disagrees"
            else:
                verdict = ""
            rows.append({"name": name.replace("_", " "), "mine": mine, "theirs": theirs,
                         "weight": "" if weight is None else f"{weight:+.2f}", "verdict": verdict})
        following = review_open_next(after=item)
        preceding = review_open_next(after=item, backwards=True)
        return {
            "rows": rows, "total": f"{item.score:.2f}",
            "decisions": [{"url": reverse(f"admin:empi_reviewitem_{name}", args=[item.pk]),
                           "key": key, "label": label, "name": name}
                          for name, (_service, key, label) in DECISIONS.items()]
            if item.status == ReviewItem.OPEN and self.has_steward_permission(request) else [],
            "next_url": reverse("admin:empi_reviewitem_change", args=[following.pk]) if following else "",
            "previous_url": reverse("admin:empi_reviewitem_change", args=[preceding.pk]) if preceding else "",
        }

    def get_urls(self) -> list[URLPattern]:
        return [
            *(path(f"<int:pk>/{name}/", self.admin_site.admin_view(require_POST(self.decision_view)),
                   {"decision": name}, name=f"empi_reviewitem_{name}") for name in DECISIONS),
            *super().get_urls(),
        ]

    @audited_by_service
    def decision_view(self, request: HttpRequest, pk: int, decision: str) -> HttpResponse:
        if not (self.has_view_permission(request) and self.has_steward_permission(request)):
            raise PermissionDenied
        item = self.get_object(request, str(pk))
        if item is not None:
            self._decide(request, [item], decision)
        following = review_open_next()
        if following is None:
            self.message_user(request, "The review queue is empty.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:empi_reviewitem_changelist"))
        return HttpResponseRedirect(reverse("admin:empi_reviewitem_change", args=[following.pk]))

    def _decide(self, request: HttpRequest, items: Iterable[ReviewItem], decision: str) -> None:
        service = DECISIONS[decision][0]
        for item in items:
            if item.status != ReviewItem.OPEN:
                self.message_user(request, f"Review {item.pk} was {item.status} already.",
                                  messages.WARNING)
                continue
            service(item=item, actor=actor_of(request))
            self.message_user(request, {
                "accept": f"Record {item.record.identifier} linked to {item.candidate}.",
                "reject": f"Record {item.record.identifier} and the candidate are remembered as "
                          "different people.",
                "dismiss": f"Review of record {item.record.identifier} closed; nothing changed.",
            }[decision], messages.SUCCESS)

    @admin.action(description="Same person: link", permissions=["steward"])
    @audited_by_service
    def accept(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, "accept")

    @admin.action(description="Not the same person", permissions=["steward"])
    @audited_by_service
    def reject(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, "reject")

    @admin.action(description="Reject: leave as is", permissions=["steward"])
    @audited_by_service
    def dismiss(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, "dismiss")
