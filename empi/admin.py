"""The data steward's console: persons, source records, link history and the review queue.

Nothing here is edited as a form: every change of a link is a steward action calling a service
(empi.services, empi.stewardship), which runs in one transaction and writes the audit record.
The actions need STEWARD_PERMISSION; viewing needs the models' view permissions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from empi import services, stewardship
from empi.models import LinkEvent, MatchParameters, NotSamePerson, PatientRecord, Person, ReviewItem
from empi.selectors import person_current
from ops.admin import ReadOnlyAdmin, ReadOnlyInline

# A steward action changes which person a record belongs to: a change of the patient record.
STEWARD_PERMISSION = "empi.change_patientrecord"

# The demographics a steward compares, in the order the pages show them.
FIELDS = ["given", "middle", "family", "birth_date", "sex", "street", "city", "postcode", "phone",
          "national_id", "mothers_maiden_name"]

# An intermediate page of an action on the change list: the selection goes back with the answer.
ACTION_PAGE = engines["django"].from_string("""{% extends "admin/base_site.html" %}
{% block content %}<form method="post">{% csrf_token %}
<p>{{ question }}</p>
{% for obj in objects %}<input type="hidden" name="_selected_action" value="{{ obj.pk }}">{% endfor %}
<input type="hidden" name="action" value="{{ action }}"><input type="hidden" name="post" value="yes">
{% for choice in choices %}<p><label><input type="radio" name="{{ field }}" value="{{ choice.pk }}"
{% if forloop.first %}checked{% endif %}> {{ choice }}</label></p>{% endfor %}
{% if text_field %}<p><label>{{ text_label }} <input type="text" name="{{ text_field }}" size="60">
</label></p>{% endif %}
<p><input type="submit" value="{{ submit }}"> <a href="">Cancel</a></p></form>{% endblock %}""")


def actor_of(request: HttpRequest) -> str:
    return request.user.get_username()


def action_page(request: HttpRequest, *, title: str, question: str, action: str,
                objects: Iterable[Any], submit: str, field: str = "", choices: Sequence[Any] = (),
                text_field: str = "", text_label: str = "") -> HttpResponse:
    return HttpResponse(ACTION_PAGE.render({
        "title": title, "question": question, "action": action, "objects": list(objects),
        "submit": submit, "field": field, "choices": choices, "text_field": text_field,
        "text_label": text_label}, request))


def weights_table(weights: dict[str, float]) -> SafeString:
    if not weights:
        return format_html("<p>{}</p>", "no weights recorded")
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>",
                            ((name, f"{value:+.2f}") for name, value in weights.items()))
    total = sum(weights.values())
    return format_html("<table><tr><th>field</th><th>weight (bits)</th></tr>{}"
                       "<tr><th>total</th><th>{}</th></tr></table>", rows, f"{total:+.2f}")


class StewardActions:
    """What the steward's actions check: STEWARD_PERMISSION, besides seeing the model."""

    def has_steward_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(STEWARD_PERMISSION)


# --- Persons.

class RecordInline(ReadOnlyInline):
    model = PatientRecord
    fk_name = "person"
    fields = readonly_fields = ("record_link", "authority", "given", "family", "birth_date", "sex",
                                "retired")

    @admin.display(description="record")
    def record_link(self, record: PatientRecord) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("admin:empi_patientrecord_change",
                                                          args=[record.pk]), record.identifier)

    @admin.display(description="retired (A40)", boolean=True)
    def retired(self, record: PatientRecord) -> bool:
        return record.merged_into_id is not None


@admin.register(Person)
class PersonAdmin(StewardActions, ReadOnlyAdmin):
    list_display = ["enterprise_id", "record_count", "merged_into", "created_at"]
    list_filter = [("merged_into", admin.EmptyFieldListFilter)]
    search_fields = ["enterprise_id", "records__identifier"]
    fields = readonly_fields = ("enterprise_id", "merged_into", "created_at", "link_history")
    inlines = [RecordInline]
    actions = ["merge_persons", "unmerge_persons"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return super().get_queryset(request).select_related("merged_into").annotate(
            number_of_records=Count("records"))

    @admin.display(description="records", ordering="number_of_records")
    def record_count(self, person: Person) -> int:
        return getattr(person, "number_of_records", 0)

    @admin.display(description="link history")
    def link_history(self, person: Person) -> SafeString:
        events = (LinkEvent.objects.filter(person=person) | LinkEvent.objects.filter(previous_person=person))
        events = events.select_related("record__authority", "person", "previous_person").order_by("at", "id")
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td><td>{}</td></tr>", (
            (e.at.strftime("%Y-%m-%d %H:%M:%S"), e.record.cx, e.previous_person or "", e.person,
             e.method, "" if e.score is None else f"{e.score:.2f}", f"{e.reason} ({e.actor})")
            for e in events))
        return format_html("<table><tr><th>at</th><th>record</th><th>from</th><th>to</th>"
                           "<th>method</th><th>score</th><th>why (who)</th></tr>{}</table>", rows)

    @admin.action(description="Merge the two selected persons", permissions=["steward"])
    def merge_persons(self, request: HttpRequest, queryset: QuerySet[Person]) -> HttpResponse | None:
        persons = list(queryset.order_by("pk"))
        if len(persons) != 2:
            self.message_user(request, "Select exactly two persons to merge.", messages.WARNING)
            return None
        if request.POST.get("post") != "yes":
            return action_page(
                request, title="Merge two persons", action="merge_persons", objects=persons,
                question="Which person survives? The other's records move to it, and its enterprise "
                         "ID is merged into the survivor's.",
                field="survivor", choices=persons, submit="Merge")
        survivor = next((p for p in persons if str(p.pk) == request.POST.get("survivor")), None)
        if survivor is None:
            self.message_user(request, "Choose the surviving person.", messages.WARNING)
            return None
        subsumed = next(p for p in persons if p.pk != survivor.pk)
        try:
            stewardship.persons_merge(survivor=survivor, subsumed=subsumed, actor=actor_of(request))
        except stewardship.StewardshipError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        self.message_user(request, f"Person {subsumed} merged into {survivor}.", messages.SUCCESS)
        return None

    @admin.action(description="Unmerge the selected persons", permissions=["steward"])
    def unmerge_persons(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        for person in queryset:
            try:
                restored = stewardship.person_unmerge(person=person, actor=actor_of(request))
            except stewardship.StewardshipError as exc:
                self.message_user(request, f"{person}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"Person {person} unmerged: {len(restored)} records restored.",
                              messages.SUCCESS)


# --- Source records.

@admin.register(PatientRecord)
class PatientRecordAdmin(StewardActions, ReadOnlyAdmin):
    list_display = ["identifier", "authority", "family", "given", "birth_date", "sex", "person",
                    "retired"]
    list_filter = ["authority"]
    search_fields = ["identifier", "authority__namespace_id", "authority__universal_id", "family"]
    list_select_related = ["authority", "person"]
    fields = readonly_fields = ("identifier", "authority", *FIELDS, "other_family", "person",
                                "merged_into", "updated_at", "current_link", "link_weights")
    actions = ["link_to_person", "unlink_from_person"]

    @admin.display(description="retired (A40)", boolean=True)
    def retired(self, record: PatientRecord) -> bool:
        return record.merged_into_id is not None

    def latest_link(self, record: PatientRecord) -> LinkEvent | None:
        return record.link_events.order_by("-at", "-id").first()

    @admin.display(description="current link")
    def current_link(self, record: PatientRecord) -> str:
        event = self.latest_link(record)
        if event is None:
            return "no link recorded"
        score = "no score" if event.score is None else f"score {event.score:.2f}"
        return (f"{event.method} link to {event.person}, {score}, {event.reason} "
                f"by {event.actor or 'the node'} at {event.at:%Y-%m-%d %H:%M:%S}")

    @admin.display(description="per-field weights of that link")
    def link_weights(self, record: PatientRecord) -> SafeString:
        event = self.latest_link(record)
        return weights_table(event.weights if event else {})

    @admin.action(description="Link the selected records to a person", permissions=["steward"])
    def link_to_person(self, request: HttpRequest,
                       queryset: QuerySet[PatientRecord]) -> HttpResponse | None:
        records = list(queryset.select_related("authority", "person"))
        if request.POST.get("post") != "yes":
            return action_page(
                request, title="Link records to a person", action="link_to_person", objects=records,
                question=f"Link {len(records)} record(s) to which person?", text_field="person",
                text_label="enterprise ID", submit="Link")
        typed = request.POST.get("person", "").strip()
        # The full CX, or the ID alone as the steward reads it off the persons' list.
        person = (Person.objects.filter(enterprise_id=typed).first() or Person.objects.filter(
            enterprise_id__startswith=f"{typed}^^^").first()) if typed else None
        if person is None:
            self.message_user(request, "No person has that enterprise ID.", messages.ERROR)
            return None
        person = person_current(person)
        for record in records:
            services.record_link(record=record, person=person, actor=actor_of(request))
        self.message_user(request, f"{len(records)} record(s) linked to {person}.", messages.SUCCESS)
        return None

    @admin.action(description="Unlink the selected records (each gets a new person)",
                  permissions=["steward"])
    def unlink_from_person(self, request: HttpRequest, queryset: QuerySet[PatientRecord]) -> None:
        for record in queryset:
            person = services.record_unlink(record=record, actor=actor_of(request))
            self.message_user(request, f"Record {record.identifier} now on person {person}.",
                              messages.SUCCESS)


@admin.register(LinkEvent)
class LinkEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "record", "previous_person", "person", "method", "score", "reason", "actor"]
    list_filter = ["method", "at"]
    search_fields = ["record__identifier", "person__enterprise_id", "actor", "reason"]
    list_select_related = ["record__authority", "person", "previous_person"]
    readonly_fields = ("record", "person", "previous_person", "score", "method", "weights_shown",
                       "actor", "at", "reason")
    fields = readonly_fields

    @admin.display(description="per-field weights")
    def weights_shown(self, event: LinkEvent) -> SafeString:
        return weights_table(event.weights)


# --- The review queue.

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


@admin.register(ReviewItem)
class ReviewItemAdmin(StewardActions, ReadOnlyAdmin):
    list_display = ["record", "candidate", "score_shown", "status", "created_at", "decided_by"]
    list_filter = [ReviewStatusFilter]
    list_select_related = ["record__authority", "candidate"]
    search_fields = ["record__identifier", "candidate__enterprise_id"]
    ordering = ["-score"]
    fields = readonly_fields = ("record", "candidate", "score", "status", "side_by_side", "decision",
                                "created_at", "decided_by", "decided_at")
    actions = ["accept", "reject"]

    @admin.display(description="score (bits)", ordering="score")
    def score_shown(self, item: ReviewItem) -> str:
        return f"{item.score:.2f}"

    @admin.display(description="the record and the candidate")
    def side_by_side(self, item: ReviewItem) -> SafeString:
        record, other = item.record, item.candidate_record
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (name, getattr(record, name), getattr(other, name),
             f"{item.weights[name]:+.2f}" if name in item.weights else "")
            for name in FIELDS))
        extra = format_html_join("", "<tr><th>{}</th><td></td><td></td><td>{}</td></tr>", (
            (name, f"{value:+.2f}") for name, value in item.weights.items() if name not in FIELDS))
        return format_html(
            "<table><tr><th></th><th>{}</th><th>{}</th><th>weight (bits)</th></tr>{}{}"
            "<tr><th>score</th><td></td><td></td><th>{}</th></tr></table>",
            record.cx, other.cx, rows, extra, f"{item.score:.2f}")

    @admin.display(description="decision")
    def decision(self, item: ReviewItem) -> SafeString | str:
        if item.status != ReviewItem.OPEN:
            return item.status
        # Buttons of the change form posting to the decision views (the form carries the CSRF token).
        return format_html(
            '<button type="submit" formaction="{}">Same person: link</button> '
            '<button type="submit" formaction="{}">Not the same person</button>',
            reverse("admin:empi_reviewitem_accept", args=[item.pk]),
            reverse("admin:empi_reviewitem_reject", args=[item.pk]))

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:pk>/accept/", self.admin_site.admin_view(require_POST(self.accept_view)),
                 name="empi_reviewitem_accept"),
            path("<int:pk>/reject/", self.admin_site.admin_view(require_POST(self.reject_view)),
                 name="empi_reviewitem_reject"),
            *super().get_urls(),
        ]

    def accept_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_one(request, pk, accept=True)

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide_one(request, pk, accept=False)

    def _decide_one(self, request: HttpRequest, pk: int, *, accept: bool) -> HttpResponse:
        if not self.has_steward_permission(request):
            raise PermissionDenied
        item = self.get_object(request, str(pk))
        if item is None:
            return HttpResponseRedirect(reverse("admin:empi_reviewitem_changelist"))
        self._decide(request, [item], accept=accept)
        return HttpResponseRedirect(reverse("admin:empi_reviewitem_changelist"))

    def _decide(self, request: HttpRequest, items: Iterable[ReviewItem], *, accept: bool) -> None:
        for item in items:
            if item.status != ReviewItem.OPEN:
                self.message_user(request, f"Review {item.pk} was {item.status} already.",
                                  messages.WARNING)
                continue
            if accept:
                services.review_accept(item=item, actor=actor_of(request))
                self.message_user(request, f"Record {item.record.identifier} linked to {item.candidate}.",
                                  messages.SUCCESS)
            else:
                services.review_reject(item=item, actor=actor_of(request))
                self.message_user(request, f"Record {item.record.identifier} and the candidate are "
                                  "remembered as different people.", messages.SUCCESS)

    @admin.action(description="Same person: link", permissions=["steward"])
    def accept(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, accept=True)

    @admin.action(description="Not the same person", permissions=["steward"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        self._decide(request, queryset, accept=False)


@admin.register(NotSamePerson)
class NotSamePersonAdmin(ReadOnlyAdmin):
    list_display = ["first", "second", "decided_by", "at"]
    search_fields = ["first__identifier", "second__identifier"]
    list_select_related = ["first__authority", "second__authority"]


@admin.register(MatchParameters)
class MatchParametersAdmin(ReadOnlyAdmin):
    list_display = ["version", "active", "trained_at"]
    fields = readonly_fields = ("version", "active", "trained_at", "parameters")


from empi import admin_consumers  # noqa: F401,E402  (the PIX consumers' page, registered on import)
