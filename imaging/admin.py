"""The operators' view of imaging: the organisations' DICOM nodes (edited here), and the index of
registered KOS manifests (read-only: only RAD-68 and the registry's transactions change it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from imaging.models import DicomNode, ManifestSeries, ManifestStudy
from ops.admin import ReadOnlyAdmin


@admin.register(DicomNode)
class DicomNodeAdmin(admin.ModelAdmin):
    list_display = ["ae_title", "organisation", "host", "port", "retrieve_method", "retrieve_location_uid",
                    "active"]
    list_filter = ["organisation", "retrieve_method", "active"]
    search_fields = ["ae_title", "host", "retrieve_location_uid", "description"]


class SeriesInline(admin.TabularInline):
    model = ManifestSeries
    fields = readonly_fields = ("series_instance_uid", "modality", "retrieve_ae_title",
                                "retrieve_location_uid")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ManifestStudy)
class ManifestStudyAdmin(ReadOnlyAdmin):
    list_display = ["study_instance_uid", "patient_id", "study_date", "modalities", "accession_number",
                    "document_unique_id", "created_at"]
    list_filter = ["modalities", "created_at"]
    search_fields = ["study_instance_uid", "patient_id", "accession_number", "document_unique_id"]
    inlines = [SeriesInline]
