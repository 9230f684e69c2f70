"""The operators' view of the registry: what was registered (read-only), and the value sets."""

from __future__ import annotations

from django.contrib import admin

from ops.admin import AuditedAdmin, ReadOnlyAdmin
from registry.models import Association, CodeValue, DocumentEntry, Folder, PatientIdentity, SubmissionSet


@admin.register(SubmissionSet)
class SubmissionSetAdmin(ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "source_id", "submission_time", "content_type_code",
                    "created_at"]
    list_filter = ["source_id", "created_at"]
    search_fields = ["unique_id", "patient_id", "entry_uuid", "source_id"]


@admin.register(DocumentEntry)
class DocumentEntryAdmin(ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "status_name", "class_code", "type_code", "format_code",
                    "creation_time", "mime_type", "repository_unique_id", "created_at"]
    list_filter = ["status", "class_code", "format_code", "mime_type", "created_at"]
    search_fields = ["unique_id", "patient_id", "source_patient_id", "entry_uuid", "title"]

    @admin.display(description="status", ordering="status")
    def status_name(self, entry: DocumentEntry) -> str:
        return entry.status.rsplit(":", 1)[-1]


@admin.register(Folder)
class FolderAdmin(ReadOnlyAdmin):
    list_display = ["unique_id", "patient_id", "last_update_time", "created_at"]
    search_fields = ["unique_id", "patient_id", "entry_uuid"]


@admin.register(Association)
class AssociationAdmin(ReadOnlyAdmin):
    list_display = ["type_name", "source_uuid", "target_uuid", "submission_set_status", "created_at"]
    list_filter = ["association_type"]
    search_fields = ["entry_uuid", "source_uuid", "target_uuid"]

    @admin.display(description="type", ordering="association_type")
    def type_name(self, association: Association) -> str:
        return association.association_type.rsplit(":", 1)[-1]


@admin.register(PatientIdentity)
class PatientIdentityAdmin(ReadOnlyAdmin):
    list_display = ["patient_id", "merged_into", "created_at"]
    search_fields = ["patient_id"]


@admin.register(CodeValue)
class CodeValueAdmin(AuditedAdmin):
    """The affinity domain's value sets, which metadata is checked against (ITI TF-3 4.2.3.2)."""

    list_display = ["kind", "code", "scheme", "display_name"]
    list_filter = ["kind", "scheme"]
    search_fields = ["code", "display_name", "scheme"]
