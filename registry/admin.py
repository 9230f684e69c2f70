"""The operators' view of the registry: what was registered (read-only, readable by a person),
and the value sets. DocumentEntries are in admin_documents, the value sets in admin_codes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from ops.admin import ReadOnlyAdmin
from registry import admin_codes, admin_documents, metadata  # noqa: F401  (the first two register pages)
from registry.admin_lists import AssociationTypeFilter, ExactSearch, StatusFilter
from registry.admin_read import (
    Codes,
    entry_codes,
    folder_rows,
    read_entry,
    read_folder,
    read_submission_set,
    status_name,
    submission_set_rows,
)
from registry.models import Association, Folder, PatientIdentity, SubmissionSet
from registry.selectors_console import Related, members_of, objects_related


@admin.register(SubmissionSet)
class SubmissionSetAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "source_id", "submission_time", "content_type_code"]
    list_filter = [StatusFilter]
    exact_search_fields = ("unique_id", "patient_id", "entry_uuid", "source_id")
    search_help_text = "an exact uniqueId, patientId, entryUUID or sourceId"
    sortable_by = ("unique_id", "submission_time")
    fields = ["entry_uuid", "status", "created_at"]
    change_form_template = "admin/registry/submissionset/change_form.html"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        package = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if package is not None and self.has_view_permission(request, package):
            read, unreadable = read_submission_set(package)
            members = members_of(package.entry_uuid)
            read_members = {uuid: read_entry(e)[0] for uuid, e in members.entries.items()}
            codes = Codes([("contentTypeCode", read.content_type_code),
                           *(c for r in read_members.values() for c in entry_codes(r))])
            context.update({
                "metadata_rows": submission_set_rows(read, package, codes), "unreadable": unreadable,
                "entry_rows": _entry_rows(members, read_members, codes),
                "folder_rows": [(_link("folder", f.pk, f.unique_id), f.patient_id, status_name(f.status))
                                for f in members.folders.values()]})
        return super().change_view(request, object_id, form_url, extra_context=context)


@admin.register(Folder)
class FolderAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "status_name", "last_update_time"]
    list_filter = [StatusFilter]
    exact_search_fields = ("unique_id", "patient_id", "entry_uuid")
    search_help_text = "an exact uniqueId, patientId or entryUUID"
    sortable_by = ("last_update_time",)
    fields = ["entry_uuid", "logical_id", "version", "status", "created_at"]
    change_form_template = "admin/registry/folder/change_form.html"

    @admin.display(description="status")
    def status_name(self, folder: Folder) -> str:
        return status_name(folder.status)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        folder = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if folder is not None and self.has_view_permission(request, folder):
            read, unreadable = read_folder(folder)
            members = members_of(folder.entry_uuid)
            read_members = {uuid: read_entry(e)[0] for uuid, e in members.entries.items()}
            codes = Codes([*(("codeList", c) for c in read.code_list),
                           *(c for r in read_members.values() for c in entry_codes(r))])
            packages = objects_related(folder.entry_uuid).submission_sets.values()
            context.update({
                "metadata_rows": folder_rows(read, folder, codes),
                "unreadable": unreadable, "entry_rows": _entry_rows(members, read_members, codes),
                "package_rows": [(_link("submissionset", p.pk, p.unique_id), p.submission_time)
                                 for p in packages]})
        return super().change_view(request, object_id, form_url, extra_context=context)


def _entry_rows(members: Related, read_members: dict[str, metadata.DocumentEntry],
                codes: Codes) -> list[tuple[Any, ...]]:
    """One row per member DocumentEntry: link, title, class, status, and how it is a member."""
    rows = []
    for association in members.associations:
        entry = members.entries.get(association.target_uuid)
        if entry is None:
            continue
        read = read_members[entry.entry_uuid]
        rows.append((_link("documententry", entry.pk, entry.unique_id), read.title,
                     codes.show("classCode", read.class_code), status_name(entry.status),
                     association.submission_set_status or status_name(association.status)))
    return rows


def _link(model: str, pk: int, text: str) -> Any:
    return format_html('<a href="{}">{}</a>', reverse(f"admin:registry_{model}_change", args=[pk]), text)


@admin.register(Association)
class AssociationAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = ["type_name", "source_uuid", "target_uuid", "submission_set_status", "created_at"]
    list_filter = [AssociationTypeFilter]
    exact_search_fields = ("entry_uuid", "source_uuid", "target_uuid")
    search_help_text = "an exact entryUUID of the association or of either end"
    sortable_by = ()

    @admin.display(description="type")
    def type_name(self, association: Association) -> str:
        return association.association_type.rsplit(":", 1)[-1]


@admin.register(PatientIdentity)
class PatientIdentityAdmin(ExactSearch, ReadOnlyAdmin):
    list_display = ["patient_id", "merged_into", "created_at"]
    list_select_related = ["merged_into"]
    exact_search_fields = ("patient_id",)
    search_help_text = "an exact patientId (id^^^&OID&ISO)"
    sortable_by = ("patient_id",)

