"""The operators' view of organisations: their assigning authorities, client certificates (with
their expiry), DICOM nodes (each with a C-ECHO button) and subscribed PIX consumers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Min, Model, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from audit.events import SECURITY_CONFIGURATION, SECURITY_ROLES_CHANGED
from ops.admin import AuditedAdmin
from organisations.certificates import CertificateFacts, UnreadableCertificate, read_pem
from organisations.models import AssigningAuthority, ClientCertificate, Member, Organisation
from organisations.selectors import certificate_refusal
from organisations.services import client_certificate_register, member_save

# A certificate this close to its end is shown in amber: time to issue the next one.
EXPIRY_WARNING = timedelta(days=30)


def expiry_badge(not_after: datetime | None) -> str:
    """When a certificate ends, in red once it has, in amber within EXPIRY_WARNING."""
    if not_after is None:
        return ""
    now = timezone.now()
    if not_after <= now:
        return format_html('<strong style="color: var(--error-fg, #ba2121);">expired {}</strong>',
                           f"{not_after:%Y-%m-%d}")
    days = (not_after - now).days
    if not_after - now <= EXPIRY_WARNING:
        return format_html('<strong style="color: #b36b00;">expires in {} days</strong>', days)
    return f"in {days} days"


class AssigningAuthorityInline(admin.TabularInline):
    model = AssigningAuthority
    extra = 0


class ClientCertificateInline(admin.TabularInline):
    """The organisation's certificates: read-only but for `active`, which takes one out of use."""

    model = ClientCertificate
    extra = 0
    fields = ["subject", "fingerprint_sha256", "not_after", "expiry", "active"]
    readonly_fields = ["subject", "fingerprint_sha256", "not_after", "expiry"]
    verbose_name = "client certificate (ITI-19)"

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # added by pasting the PEM below, through the service

    @admin.display(description="expires")
    def expiry(self, certificate: ClientCertificate) -> str:
        return expiry_badge(certificate.not_after)


class ClientCertificateUploadForm(forms.ModelForm):
    """One pasted PEM certificate, read and checked before anything is saved."""

    pem_text = forms.CharField(label="PEM", required=False,
                               widget=forms.Textarea(attrs={"rows": 6, "cols": 70}),
                               help_text="-----BEGIN CERTIFICATE----- … issued by the exchange's CA")
    facts: CertificateFacts | None = None

    class Meta:
        model = ClientCertificate
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        text = (cleaned or {}).get("pem_text", "")
        if text:
            try:
                self.facts = read_pem(text)
            except UnreadableCertificate as exc:
                raise forms.ValidationError(str(exc)) from exc
            refusal = certificate_refusal(certificate=self.facts)
            if refusal:
                raise forms.ValidationError(refusal)
        return cleaned or {}


class ClientCertificateUploadInline(admin.TabularInline):
    """An empty row to paste a new client certificate into."""

    model = ClientCertificate
    form = ClientCertificateUploadForm
    extra = 1
    can_delete = False
    verbose_name = "new client certificate"
    verbose_name_plural = "add a client certificate"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ClientCertificate]:
        return super().get_queryset(request).none()


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    audit_type_code = SECURITY_CONFIGURATION
    list_display = ["name", "code", "active", "may_administer_documents", "certificates"]
    list_filter = ["active", "may_administer_documents"]
    search_fields = ["name", "code"]
    inlines = [AssigningAuthorityInline, ClientCertificateInline, ClientCertificateUploadInline]
    # The DICOM nodes and PIX consumers under the inlines (their own pages edit them).
    change_form_template = "admin/organisations/organisation/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        # The soonest end of an active certificate, for the list's expiry column, in the same query.
        return super().get_queryset(request).annotate(soonest_expiry=Min(
            "client_certificates__not_after", filter=Q(client_certificates__active=True)))

    @admin.display(description="client certificates", ordering="soonest_expiry")
    def certificates(self, organisation: Organisation) -> str:
        return expiry_badge(getattr(organisation, "soonest_expiry", None))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().change_view(request, object_id, form_url, {
            **(extra_context or {}), **_connections(request, object_id)})

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: BaseInlineFormSet,
                     change: bool) -> None:
        if not issubclass(formset.form, ClientCertificateUploadForm):
            super().save_formset(request, form, formset, change)
            return
        # Registering is a service: it checks the certificate again and audits the change.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for upload in formset.forms:
            if isinstance(upload, ClientCertificateUploadForm) and upload.facts is not None:
                formset.new_objects.append(client_certificate_register(
                    organisation=form.instance, certificate=upload.facts,
                    registered_by=request.user.get_username()))


@admin.register(AssigningAuthority)
class AssigningAuthorityAdmin(AuditedAdmin):
    audit_type_code = SECURITY_CONFIGURATION
    list_display = ["namespace_id", "universal_id", "universal_id_type", "organisation",
                    "is_affinity_domain"]
    search_fields = ["namespace_id", "universal_id"]


@admin.register(Member)
class MemberAdmin(AuditedAdmin):
    """Who signs in to the radiologists' pages (/priors/), and for which organisation's patients."""

    audit_type_code = SECURITY_ROLES_CHANGED

    list_display = ["user", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["user__username", "user__last_name", "organisation__name"]
    list_select_related = ["user", "organisation"]

    def save_model(self, request: HttpRequest, obj: Member, form: forms.ModelForm, change: bool) -> None:
        # The service gives the user the radiologist role as well.
        saved = member_save(user=obj.user, organisation=obj.organisation)
        obj.pk = saved.pk


def _connections(request: HttpRequest, object_id: str) -> dict[str, Any]:
    """The organisation's DICOM nodes and PIX consumers, each list one query, for whoever may
    see them; the echo button for whoever may change a node."""
    # Imported here: the organisations app is below imaging and the EMPI, which refer to it.
    from empi.models import PixConsumer
    from imaging.models import DicomNode

    user = request.user
    nodes: list[DicomNode] = []
    consumers: list[PixConsumer] = []
    if object_id.isdigit() and user.has_perm("imaging.view_dicomnode"):
        nodes = list(DicomNode.objects.filter(organisation_id=object_id).order_by("ae_title"))
    if object_id.isdigit() and user.has_perm("empi.view_pixconsumer"):
        consumers = list(PixConsumer.objects.filter(organisation_id=object_id)
                         .select_related("organisation").order_by("pk"))
    return {"dicom_nodes": nodes, "pix_consumers": consumers,
            "may_see_nodes": user.has_perm("imaging.view_dicomnode"),
            "may_see_consumers": user.has_perm("empi.view_pixconsumer"),
            "may_echo": user.has_perm("imaging.change_dicomnode")}
