"""The operators' view of DocumentEntries: their metadata readable by a person, what they are
joined to, deprecate (ITI-57) and delete (ITI-62, with ITI-86 for the bytes this repository holds)
through the services, and the document downloaded from the store, audited as an Export."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from audit import services as audit
from audit.events import DocumentRef, export, import_, patient_record, this_node
from ops.admin import ReadOnlyAdmin, audited_by_service
from ops.console import actor
from registry import metadata, models
from registry.admin_lists import ClassCodeFilter, ExactSearch, StatusFilter
from registry.admin_read import Codes, entry_codes, entry_rows, read_entry, status_name
from registry.errors import RegistryError, RegistryErrors
from registry.selectors_console import Removal, objects_related, removal_of
from registry.services.delete import objects_remove
from registry.services.status import document_entry_deprecate
from repository import selectors as repository_selectors
from repository import store
from repository.services import RemoveRequest, documents_remove

# Whoever may deprecate and delete: the console's operators (organisations.roles).
ADMINISTER = "registry.change_documententry"
_CHUNK = 64 * 1024
# An action acts on at most this many entries: each is a transaction of its own kind, and the
# confirmation lists them all ("select all 1,000,000" is not a delete an operator means).
MOST_AT_ONCE = 100
# EventOutcomeIndicator of a refused request (PS3.15 A.5.1: serious failure), as the handlers record it.
SERIOUS_FAILURE = 8
_RELATION_NAMES = {metadata.RPLC: ("replaces", "replaced by"), metadata.APND: ("appends to", "appended by"),
                   metadata.XFRM: ("transforms", "transformed by"),
                   metadata.XFRM_RPLC: ("transforms and replaces", "transformed and replaced by"),
                   metadata.SIGNS: ("signs", "signed by"), metadata.IS_SNAPSHOT_OF: ("is a snapshot of",
                                                                                     "has the snapshot")}


@admin.register(models.DocumentEntry)
class DocumentEntryAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = ["unique_id", "title", "patient_id", "status_name", "class_code", "creation_time",
                    "mime_type"]
    list_filter = [StatusFilter, ClassCodeFilter]
    exact_search_fields = ("unique_id", "patient_id", "entry_uuid")
    search_help_text = "an exact uniqueId, patientId (id^^^&OID&ISO) or entryUUID"
    sortable_by = ("unique_id",)
    actions = ["deprecate_entries", "delete_entries"]
    fields = ["entry_uuid", "logical_id", "version", "status", "created_at"]
    change_form_template = "admin/registry/documententry/change_form.html"

    @admin.display(description="status")
    def status_name(self, entry: models.DocumentEntry) -> str:
        return status_name(entry.status)

    def has_administer_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(ADMINISTER))

    # The page -------------------------------------------------------------------------------

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        entry = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if entry is not None and self.has_view_permission(request, entry):
            context.update(self._readable(request, entry))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _readable(self, request: HttpRequest, entry: models.DocumentEntry) -> dict[str, Any]:
        read, unreadable = read_entry(entry)
        related = objects_related(entry.entry_uuid)
        links: list[tuple[str, Any, str]] = []
        for association in related.associations:
            if association.association_type == metadata.HAS_MEMBER:
                package = related.submission_sets.get(association.source_uuid)
                folder = related.folders.get(association.source_uuid)
                if package is not None:
                    links.append(("in submission set", _link("submissionset", package.pk, package.unique_id),
                                  association.submission_set_status))
                elif folder is not None:
                    links.append(("in folder", _link("folder", folder.pk, folder.unique_id),
                                  status_name(association.status)))
                continue
            outgoing = association.source_uuid == entry.entry_uuid
            other = related.entries.get(association.target_uuid if outgoing else association.source_uuid)
            names = _RELATION_NAMES.get(association.association_type, (association.association_type,) * 2)
            far_end = association.target_uuid if outgoing else association.source_uuid
            shown = (_link("documententry", other.pk, f"{other.unique_id} ({status_name(other.status)})")
                     if other is not None else far_end)
            links.append((names[0] if outgoing else names[1], shown, ""))
        held = self._held(entry)
        return {"metadata_rows": entry_rows(read, entry, Codes(entry_codes(read))), "unreadable": unreadable,
                "related_rows": links, "bytes_held": held is not None,
                "may_administer": self.has_administer_permission(request),
                "is_approved": entry.status == models.APPROVED}

    def _held(self, entry: models.DocumentEntry) -> Any:
        if entry.repository_unique_id != settings.REPOSITORY_UNIQUE_ID:
            return None
        return repository_selectors.documents_by_unique_id([entry.unique_id]).get(entry.unique_id)

    def get_urls(self) -> list[URLPattern]:
        return [path("<path:object_id>/download/", self.admin_site.admin_view(self.download_view),
                     name="registry_documententry_download"), *super().get_urls()]

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The document's bytes from this repository's store, audited as an Export (PS3.15
        A.5.3.4) with the signed-in person as the one who asked (ITI TF-2b 3.43.6.1.1)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        entry = self.get_object(request, object_id)
        if entry is None:
            return self._missing(request, entry, "There is no such document entry.")
        document = self._held(entry)
        if document is None:
            return self._missing(request, entry, "This repository does not hold the document's bytes: "
                                 f"its repository is {entry.repository_unique_id or 'not named'}.")
        try:
            if store.store_size(document.key) != document.size:
                raise store.StoreError(document.key)
            opened = store.store_open(document.key)
        except store.StoreError:
            return self._missing(request, entry, "The repository cannot read this document's bytes: they "
                                 "are missing or of the wrong size.", status=500)
        # A console download is a retrieval from the repository, as ITI-43 is.
        audit.record_alone(export(
            transaction="ITI-43", sender=this_node(request.path), receiver=actor(request),
            patient_id=document.patient_id, documents=[DocumentRef(
                unique_id=document.unique_id, repository_unique_id=settings.REPOSITORY_UNIQUE_ID)]))
        mime_type = entry.mime_type or document.mime_type
        extension = mimetypes.guess_extension(mime_type) or ".bin"
        response = StreamingHttpResponse(_chunks(opened), content_type=mime_type)
        response["Content-Length"] = str(document.size)
        response["Content-Disposition"] = f'attachment; filename="{_safe(entry.unique_id)}{extension}"'
        return response

    def _missing(self, request: HttpRequest, entry: models.DocumentEntry | None, message: str, *,
                 status: int = 404) -> TemplateResponse:
        return TemplateResponse(request, "admin/registry/documententry/download_missing.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "original": entry,
            "title": "Document not available", "message": message}, status=status)

    # The actions ----------------------------------------------------------------------------

    @admin.action(description="Deprecate the selected document entries (ITI-57)", permissions=["administer"])
    @audited_by_service
    def deprecate_entries(self, request: HttpRequest, queryset: QuerySet[models.DocumentEntry]) -> Any:
        entries = list(queryset.order_by("pk")[:MOST_AT_ONCE + 1])
        if len(entries) > MOST_AT_ONCE:
            return self._too_many(request)
        if request.POST.get("post") != "yes":
            return self._confirm(request, "deprecate_entries", "Deprecate document entries",
                                 "admin/registry/documententry/deprecate_confirmation.html", entries,
                                 {"not_approved": [e for e in entries if e.status != models.APPROVED]})
        try:
            with transaction.atomic():
                for entry in entries:  # each an ITI-57 of its own patient; all of them or none
                    document_entry_deprecate(entry_uuid=entry.entry_uuid, **_source(request))
        except RegistryErrors as refused:
            patients = {e.patient_id for e in entries}
            # The update rolled back: its refusal is recorded on its own, as the ITI-57 handler does.
            audit.record_alone(import_(
                transaction="ITI-57", sender=actor(request), receiver=this_node(request.path),
                patient_id=patients.pop() if len(patients) == 1 else "", outcome=SERIOUS_FAILURE,
                outcome_description=_codes(refused.errors)))
            return self._refused(request, "Nothing was deprecated", refused.errors)
        self.message_user(request, f"{len(entries)} document entr{'y' if len(entries) == 1 else 'ies'} "
                          "deprecated (ITI-57).", messages.SUCCESS)
        if len(entries) == 1:
            return HttpResponseRedirect(reverse("admin:registry_documententry_change", args=[entries[0].pk]))
        return None

    @admin.action(description="Delete the selected document entries (ITI-62, ITI-86)",
                  permissions=["administer"])
    @audited_by_service
    def delete_entries(self, request: HttpRequest, queryset: QuerySet[models.DocumentEntry]) -> Any:
        entries = list(queryset.order_by("pk")[:MOST_AT_ONCE + 1])
        if len(entries) > MOST_AT_ONCE:
            return self._too_many(request)
        removal = removal_of(entries, repository_unique_id=settings.REPOSITORY_UNIQUE_ID)
        if request.POST.get("post") != "yes":
            documents = repository_selectors.documents_by_unique_id(removal.unique_ids_freed)
            return self._confirm(request, "delete_entries", "Delete document entries",
                                 "admin/registry/documententry/remove_confirmation.html", entries,
                                 {"removal": removal, "documents": sorted(documents.values(),
                                                                          key=lambda d: d.unique_id)})
        try:
            _remove(request, removal)
        except RegistryErrors as refused:
            audit.record_alone(patient_record(
                transaction="ITI-62", action="D", sender=actor(request),
                receiver=this_node(request.path), patient_ids=[], removed=removal.entry_uuids,
                outcome=SERIOUS_FAILURE, outcome_description=_codes(refused.errors)))
            return self._refused(request, "Nothing was deleted", refused.errors)
        self.message_user(request, f"{len(entries)} document entr{'y' if len(entries) == 1 else 'ies'} and "
                          f"{len(removal.associations)} associations deleted (ITI-62).", messages.SUCCESS)
        return None

    def _confirm(self, request: HttpRequest, action: str, title: str, template: str,
                 entries: list[models.DocumentEntry], extra: dict[str, Any]) -> TemplateResponse:
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.opts, "title": title, "action": action,
            "entries": entries, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, **extra})

    def _too_many(self, request: HttpRequest) -> None:
        self.message_user(request, f"Select at most {MOST_AT_ONCE} document entries at once; nothing was "
                          "changed.", messages.ERROR)

    def _refused(self, request: HttpRequest, what: str, found: list[RegistryError]) -> None:
        for error in found:
            if error.is_error:
                self.message_user(request, f"{what}: the registry refused, {error.code.rsplit(':', 1)[-1]}: "
                                  f"{error.context}", messages.ERROR)


def _remove(request: HttpRequest, removal: Removal) -> None:
    """ITI-62 removes the metadata; ITI-86 the bytes no entry names any more, in the same
    transaction, so an operator's delete is whole: neither metadata without bytes nor the reverse."""
    with transaction.atomic():
        objects_remove(entry_uuids=removal.entry_uuids, **_source(request))
        held = repository_selectors.documents_by_unique_id(removal.unique_ids_freed)
        if held:
            found = documents_remove(requests=[RemoveRequest(settings.REPOSITORY_UNIQUE_ID, unique_id)
                                               for unique_id in sorted(held)], **_source(request))
            if found:
                raise RegistryErrors(found)


def _codes(found: list[RegistryError]) -> str:
    return "; ".join(e.code for e in found)[:1024]


def _source(request: HttpRequest) -> dict[str, str]:
    """The operator as the transactions' audit records name their source."""
    who = actor(request)
    return {"source": who.user_id, "source_host": who.host, "destination": request.path}


def _link(model: str, pk: int, text: str) -> Any:
    return format_html('<a href="{}">{}</a>', reverse(f"admin:registry_{model}_change", args=[pk]), text)


def _chunks(opened: BinaryIO) -> Iterator[bytes]:
    with opened:
        while chunk := opened.read(_CHUNK):
            yield chunk


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in name)[:120] or "document"
