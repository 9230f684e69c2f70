"""The operators' view of imaging: the organisations' DICOM nodes (edited here, with a C-ECHO test),
the relevant-prior rules, and the index of registered KOS manifests (read-only: only RAD-68 and the
registry's transactions change it)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from audit.events import NETWORK_CONFIGURATION
from imaging.dicom.echo import c_echo
from imaging.models import DicomNode, ManifestSeries, ManifestStudy, RelevantPriorRule
from ops.admin import AuditedAdmin, ReadOnlyAdmin, audited_by_service
from ops.console import console_change

CHANGE_NODE = "imaging.change_dicomnode"  # an echo is the operators' (roles.OPERATOR)
method_decorator_post = method_decorator(require_POST)


@admin.register(DicomNode)
class DicomNodeAdmin(AuditedAdmin):
    audit_type_code = NETWORK_CONFIGURATION
    list_display = ["ae_title", "organisation", "host", "port", "is_source", "is_destination", "tls",
                    "max_associations", "retrieve_method", "retrieve_location_uid", "active"]
    list_filter = ["organisation", "is_source", "is_destination", "tls", "retrieve_method", "active"]
    search_fields = ["ae_title", "host", "retrieve_location_uid", "description"]
    fieldsets = [
        (None, {"fields": ["organisation", "ae_title", "host", "port", "description", "active"]}),
        ("Roles", {"fields": ["is_source", "is_destination"],
                   "description": "A query/retrieve source is asked for a patient's studies and "
                                  "ordered to move them; a move destination is the site's PACS "
                                  "the priors are moved to."}),
        ("Retrieve", {"fields": ["retrieve_method", "retrieve_location_uid"]}),
        ("Connection", {"fields": ["tls", "max_associations"],
                        "description": "WAN links to a site's PACS take few associations at once "
                                       "(2 to 4)."}),
    ]
    actions = ["echo"]
    # The change form's "Save and test with C-ECHO" button (templates/admin/imaging/dicomnode/).
    change_form_template = "admin/imaging/dicomnode/change_form.html"

    list_select_related = ["organisation"]

    @audited_by_service  # each echo is audited with its answer (_echo_answer)
    @admin.action(description="Test the selected DICOM nodes with C-ECHO")
    def echo(self, request: HttpRequest, queryset: QuerySet[DicomNode]) -> None:
        for node in queryset.select_related("organisation").order_by("ae_title"):
            _echo_message(request, node)

    def get_urls(self) -> list[URLPattern]:
        return [path("<path:object_id>/echo/", self.admin_site.admin_view(self.echo_view),
                     name="imaging_dicomnode_echo"), *super().get_urls()]

    @method_decorator_post
    def echo_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """C-ECHO one node and answer in JSON, for the button beside it on its organisation's
        page: {"level": "success"|"warning"|"error", "answer": "..."}."""
        if not request.user.has_perm(CHANGE_NODE):
            raise PermissionDenied
        node = get_object_or_404(DicomNode.objects.select_related("organisation"), pk=object_id)
        level, answer = _echo_answer(request, node)
        return JsonResponse({"level": level, "answer": answer})

    def response_change(self, request: HttpRequest, obj: DicomNode) -> HttpResponse:
        if "_echo" in request.POST:
            # Saved first, so the echo tries what the operator just typed.
            _echo_message(request, obj)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


def _echo_message(request: HttpRequest, node: DicomNode) -> None:
    """A real C-ECHO, its answer as an admin message."""
    level, answer = _echo_answer(request, node)
    {"success": messages.success, "warning": messages.warning, "error": messages.error}[level](
        request, answer)


def _echo_answer(request: HttpRequest, node: DicomNode) -> tuple[str, str]:
    """A real C-ECHO (PS3.7 9.1.5) from the node's AE title: its answer in words and how it
    went, audited as a Network Configuration alert with the answer (an operator's action)."""
    if node.tls:
        level, answer = "warning", (f"{node.ae_title}: C-ECHO over TLS is not tried from here; the "
                                    "prefetcher's associations use TLS for this node.")
    else:
        started = time.monotonic()
        status = c_echo(host=node.host, port=node.port, called_ae=node.ae_title,
                        calling_ae=settings.DICOM_AE_TITLE, timeout=10)
        took = f"{(time.monotonic() - started) * 1000:.0f} ms"
        if status == 0x0000:
            level, answer = "success", (f"{node.ae_title} at {node.host}:{node.port} answered "
                                        f"C-ECHO: success ({took}).")
        elif status < 0:
            level, answer = "error", (f"{node.ae_title} at {node.host}:{node.port}: no association "
                                      f"(refused, rejected or nobody listening; {took}).")
        else:
            level, answer = "warning", (f"{node.ae_title} answered C-ECHO with status "
                                        f"0x{status:04X} ({took}).")
    console_change(request, type_code=NETWORK_CONFIGURATION,
                   description=f"C-ECHO of DICOM node {node.ae_title} by "
                               f"{request.user.get_username()}: {answer}",
                   subject=f"imaging.dicomnode/{node.pk}", organisation=node.organisation.code)
    return level, answer


@admin.register(RelevantPriorRule)
class RelevantPriorRuleAdmin(AuditedAdmin):
    list_display = ["name", "ordering_organisation", "order_modalities", "prior_modalities",
                    "body_parts", "lookback_days", "max_priors", "active"]
    list_filter = ["ordering_organisation", "active"]
    search_fields = ["name", "order_modalities", "prior_modalities", "body_parts"]
    fieldsets = [
        (None, {"fields": ["name", "ordering_organisation", "active"],
                "description": "Rules for no organisation apply to orders from every site. With no "
                               "rule at all, every outside prior is relevant."}),
        ("Which orders", {"fields": ["order_modalities"],
                          "description": "DICOM modality codes separated by spaces (CT MR); empty: "
                                         "every order."}),
        ("Which priors", {"fields": ["prior_modalities", "body_parts", "lookback_days", "max_priors"],
                          "description": "Modalities and Body Part Examined values separated by "
                                         "spaces (CHEST ABDOMEN); empty: any. A prior whose body "
                                         "part is unknown passes only when body parts is empty."}),
    ]


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
from imaging.prefetch import admin as prefetch_admin  # noqa: E402,F401  (registers the prefetch jobs' pages)
