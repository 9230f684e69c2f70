"""The data steward's console: persons, with their records side by side, their identifiers, link
history, documents and studies across sites; merge and unmerge, confirmed with what will change.

A merge or unmerge is stewardship.persons_merge / person_unmerge, which write their own audit
records (Patient Record, PS3.15 A.5.3.14); the views and actions here only ask and confirm.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from empi import stewardship
from empi.admin import FIELDS, StewardActions, actor_of, person_typed
from empi.errors import NoAffinityDomain
from empi.models import LinkEvent, PatientRecord, Person
from empi.selectors import (
    affinity_authority,
    merge_plan,
    patient_ids_of_person,
    records_of_person,
    records_of_persons,
    unmerge_plan,
)
from imaging.selectors import studies_of_patients
from ops.admin import ReadOnlyAdmin, audited_by_service
from registry.selectors_patients import documents_of_patients

# A person's page lists this many documents and studies, newest first; the rest are a link away.
PAGE_CAP = 100


class PersonChangeList(ChangeList):
    """The page's persons get their current records in one query: counting records per person
    with a GROUP BY would join and group the whole table of a million persons first."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        persons = list(self.result_list)
        records = records_of_persons(person_ids=[p.pk for p in persons])
        for person in persons:
            person.console_records = records.get(person.pk, [])


@admin.register(Person)
class PersonAdmin(StewardActions, ReadOnlyAdmin):
    list_display = ["enterprise_id", "name", "record_count", "sites", "merged_into", "created_at"]
    list_filter = [("merged_into", admin.EmptyFieldListFilter)]
    list_select_related = ["merged_into"]
    # An enterprise ID or an MRN, matched exactly on indexes (see get_search_results).
    search_fields = ["=enterprise_id"]
    search_help_text = "An enterprise ID (with or without its authority) or an MRN."
    fields = readonly_fields = ("enterprise_id", "merged_into", "created_at", "link_history")
    actions = ["merge_persons", "unmerge_persons"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PersonChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return super().get_queryset(request).select_related("merged_into")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Person],
                           search_term: str) -> tuple[QuerySet[Person], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        wanted = Q(enterprise_id=term)
        try:
            authority = affinity_authority()
            wanted |= Q(enterprise_id=f"{term}^^^&{authority.universal_id}&{authority.universal_id_type}")
        except NoAffinityDomain:
            pass
        # The persons holding that MRN, found first on the record's identifier index: an OR with
        # a join would scan every person.
        holders = list(PatientRecord.objects.filter(identifier=term).values_list("person_id", flat=True))
        if holders:
            wanted |= Q(pk__in=holders)
        return queryset.filter(wanted), False

    @admin.display(description="name")
    def name(self, person: Person) -> str:
        records = getattr(person, "console_records", [])
        return f"{records[0].family}, {records[0].given}" if records else ""

    @admin.display(description="records")
    def record_count(self, person: Person) -> int:
        return len(getattr(person, "console_records", []))

    @admin.display(description="sites")
    def sites(self, person: Person) -> str:
        records = getattr(person, "console_records", [])
        return ", ".join(sorted({r.authority.namespace_id or r.authority.universal_id for r in records}))

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

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> HttpResponse:
        if obj is not None:
            context.update(self.person_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def person_context(self, request: HttpRequest, person: Person) -> dict[str, Any]:
        """What the person's page shows besides its fields, in a constant number of queries."""
        records = records_of_person(person)
        current = [r for r in records if r.merged_into_id is None]
        rows = []
        for name in FIELDS:
            values = [getattr(r, name) for r in current]
            rows.append({"name": name.replace("_", " "), "values": values,
                         "differs": len({v for v in values if v}) > 1})
        patient_ids = patient_ids_of_person(person)
        documents = documents_of_patients(patient_ids=patient_ids, limit=PAGE_CAP + 1)
        studies = studies_of_patients(patient_ids=patient_ids, limit=PAGE_CAP + 1)
        wanted = urlencode({"patient_id__in": ",".join(patient_ids)})
        return {
            "records": current, "field_rows": rows, "identifiers": records,
            "retired_ids": patient_ids[1:],
            "documents": documents[:PAGE_CAP], "documents_more": len(documents) > PAGE_CAP,
            "documents_url": f"{reverse('admin:registry_documententry_changelist')}?{wanted}",
            "studies": studies[:PAGE_CAP], "studies_more": len(studies) > PAGE_CAP,
            "studies_url": f"{reverse('admin:imaging_manifeststudy_changelist')}?{wanted}",
            "may_steward": self.has_steward_permission(request),
            "merge_url": reverse("admin:empi_person_merge"),
            "unmerge_url": reverse("admin:empi_person_unmerge", args=[person.pk]),
        }

    # --- Merge and unmerge.

    def get_urls(self) -> list[URLPattern]:
        return [
            path("merge/", self.admin_site.admin_view(self.merge_view), name="empi_person_merge"),
            path("<int:pk>/unmerge/", self.admin_site.admin_view(self.unmerge_view),
                 name="empi_person_unmerge"),
            *super().get_urls(),
        ]

    def _may_steward(self, request: HttpRequest) -> None:
        if not (self.has_view_permission(request) and self.has_steward_permission(request)):
            raise PermissionDenied

    @audited_by_service
    def merge_view(self, request: HttpRequest) -> HttpResponse:
        """GET ?survivor=&subsumed= (keys or enterprise IDs) asks; POST with post=yes merges."""
        self._may_steward(request)
        data = request.POST if request.method == "POST" else request.GET
        if "persons" in data:
            found = {str(p.pk): p for p in Person.objects.filter(pk__in=data.getlist("persons")[:2])}
            survivor = found.get(data.get("survivor", ""))
            subsumed = next((p for pk, p in found.items() if survivor is None or p.pk != survivor.pk), None)
        else:
            survivor = person_typed(data.get("survivor", ""))
            subsumed = person_typed(data.get("subsumed", ""))
        if survivor is None or subsumed is None:
            self.message_user(request, "No person has that enterprise ID.", messages.ERROR)
            back = survivor or subsumed
            return HttpResponseRedirect(reverse("admin:empi_person_change", args=[back.pk]) if back
                                        else reverse("admin:empi_person_changelist"))
        if request.method == "POST" and data.get("post") == "yes":
            return self._merge(request, survivor, subsumed)
        return self._merge_page(request, survivor, subsumed, action="")

    def _merge(self, request: HttpRequest, survivor: Person, subsumed: Person) -> HttpResponse:
        try:
            stewardship.persons_merge(survivor=survivor, subsumed=subsumed, actor=actor_of(request))
        except stewardship.StewardshipError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:empi_person_change", args=[subsumed.pk]))
        self.message_user(request, f"Person {subsumed} merged into {survivor}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:empi_person_change", args=[survivor.pk]))

    def _merge_page(self, request: HttpRequest, survivor: Person, subsumed: Person, *,
                    action: str) -> TemplateResponse:
        return TemplateResponse(request, "admin/empi/person/merge_confirmation.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Merge two persons", "plan": merge_plan(survivor=survivor, subsumed=subsumed),
            "persons": [survivor, subsumed], "action": action,
            "form_url": "" if action else reverse("admin:empi_person_merge")})

    @audited_by_service
    def unmerge_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET asks, saying which records go back; POST with post=yes unmerges."""
        self._may_steward(request)
        person = Person.objects.filter(pk=pk).first()
        if person is None:
            return HttpResponseRedirect(reverse("admin:empi_person_changelist"))
        if request.method == "POST" and request.POST.get("post") == "yes":
            self._unmerge(request, person)
            return HttpResponseRedirect(reverse("admin:empi_person_change", args=[person.pk]))
        return self._unmerge_page(request, [person], action="")

    def _unmerge(self, request: HttpRequest, person: Person) -> None:
        try:
            restored = stewardship.person_unmerge(person=person, actor=actor_of(request))
        except stewardship.StewardshipError as exc:
            self.message_user(request, f"{person}: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Person {person} unmerged: {len(restored)} records restored.",
                          messages.SUCCESS)

    def _unmerge_page(self, request: HttpRequest, persons: list[Person], *,
                      action: str) -> TemplateResponse:
        return TemplateResponse(request, "admin/empi/person/unmerge_confirmation.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Unmerge persons", "plans": [unmerge_plan(person=p) for p in persons],
            "action": action})

    @admin.action(description="Merge the two selected persons", permissions=["steward"])
    @audited_by_service
    def merge_persons(self, request: HttpRequest, queryset: QuerySet[Person]) -> HttpResponse | None:
        persons = list(queryset.order_by("pk"))
        if len(persons) != 2:
            self.message_user(request, "Select exactly two persons to merge.", messages.WARNING)
            return None
        # The older person survives unless the steward picks the other.
        survivor = next((p for p in persons if str(p.pk) == request.POST.get("survivor")), persons[0])
        subsumed = next(p for p in persons if p.pk != survivor.pk)
        if request.POST.get("post") != "yes":
            return self._merge_page(request, survivor, subsumed, action="merge_persons")
        self._merge(request, survivor, subsumed)
        return None

    @admin.action(description="Unmerge the selected persons", permissions=["steward"])
    @audited_by_service
    def unmerge_persons(self, request: HttpRequest, queryset: QuerySet[Person]) -> HttpResponse | None:
        persons = list(queryset.select_related("merged_into"))
        if request.POST.get("post") != "yes":
            return self._unmerge_page(request, persons, action="unmerge_persons")
        for person in persons:
            self._unmerge(request, person)
        return None

