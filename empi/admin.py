"""The data steward's console: source records and link history here, persons in admin_persons,
the review queue in admin_review, and what they share.

Nothing here is edited as a form: every change of a link is a steward action calling a service
(empi.services, empi.stewardship), which runs in one transaction and writes the audit record.
The actions need STEWARD_PERMISSION; viewing needs the models' view permissions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from empi import services
from empi.models import LinkEvent, MatchParameters, NotSamePerson, PatientRecord, Person
from empi.selectors import person_current
from ops.admin import ReadOnlyAdmin, audited_by_service
from organisations.models import AssigningAuthority

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


def person_typed(typed: str) -> Person | None:
    """The person a steward names: its enterprise ID in full (CX), or the ID alone as the persons'
    list shows it (the affinity domain issues them all). Exact matches only: one index each."""
    typed = typed.strip()
    if not typed:
        return None
    wanted = [typed]
    authority = AssigningAuthority.objects.filter(is_affinity_domain=True).first()
    if authority is not None:
        wanted.append(f"{typed}^^^&{authority.universal_id}&{authority.universal_id_type}")
    return Person.objects.filter(enterprise_id__in=wanted).first()


class StewardActions:
    """What the steward's actions check: STEWARD_PERMISSION, besides seeing the model."""

    def has_steward_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(STEWARD_PERMISSION)


# --- Source records.

@admin.register(PatientRecord)
class PatientRecordAdmin(StewardActions, ReadOnlyAdmin):
    list_display = ["identifier", "authority", "family", "given", "birth_date", "sex", "person",
                    "retired"]
    list_filter = ["authority"]
    # An MRN, or an authority's namespace or OID: exact matches on indexes (see get_search_results).
    search_fields = ["=identifier"]
    list_select_related = ["authority", "person"]
    fields = readonly_fields = ("identifier", "authority", *FIELDS, "other_family", "person",
                                "merged_into", "updated_at", "current_link", "link_weights")
    actions = ["link_to_person", "unlink_from_person"]

    @admin.display(description="retired (A40)", boolean=True)
    def retired(self, record: PatientRecord) -> bool:
        return record.merged_into_id is not None

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[PatientRecord],
                           search_term: str) -> tuple[QuerySet[PatientRecord], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # An OR of the MRN with the authority's columns would scan a million records: the small
        # authorities table is asked first, then one index answers.
        authorities = list(AssigningAuthority.objects.filter(
            Q(namespace_id=term) | Q(universal_id=term)).values_list("pk", flat=True))
        if authorities:
            return queryset.filter(authority_id__in=authorities), False
        return queryset.filter(identifier=term), False

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
    @audited_by_service
    def link_to_person(self, request: HttpRequest,
                       queryset: QuerySet[PatientRecord]) -> HttpResponse | None:
        records = list(queryset.select_related("authority", "person"))
        if request.POST.get("post") != "yes":
            return action_page(
                request, title="Link records to a person", action="link_to_person", objects=records,
                question=f"Link {len(records)} record(s) to which person?", text_field="person",
                text_label="enterprise ID", submit="Link")
        person = person_typed(request.POST.get("person", ""))
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
    @audited_by_service
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


@admin.register(NotSamePerson)
class NotSamePersonAdmin(ReadOnlyAdmin):
    list_display = ["first", "second", "decided_by", "at"]
    search_fields = ["first__identifier", "second__identifier"]
    list_select_related = ["first__authority", "second__authority"]


@admin.register(MatchParameters)
class MatchParametersAdmin(ReadOnlyAdmin):
    list_display = ["version", "active", "trained_at"]
    fields = readonly_fields = ("version", "active", "trained_at", "parameters")


# The other pages of the console, registered on import.
from empi import admin_consumers, admin_persons, admin_review  # noqa: F401,E402
