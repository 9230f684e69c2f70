"""The operators' view of FHIR clients: register one (its secret shown once), change its scopes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from audit.events import SECURITY_CONFIGURATION
from fhir_api.models import FhirClient
from fhir_api.oauth import known_scopes
from fhir_api.services import fhir_client_register
from ops.admin import AuditedAdmin


class FhirClientForm(forms.ModelForm):
    name = forms.CharField(max_length=255, help_text="what the client is, e.g. 'Hospital A viewer'")
    scope_choices = forms.MultipleChoiceField(label="Scopes", widget=forms.CheckboxSelectMultiple,
                                              choices=[])

    class Meta:
        model = FhirClient
        fields = ["organisation"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scope_choices"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(scope, f"{scope}: {text}") for scope, text in known_scopes().items()]
        if self.instance.pk:
            self.fields["name"].initial = self.instance.application.name
            self.fields["name"].disabled = True
            self.fields["organisation"].disabled = True
            field.initial = self.instance.scope_list


@admin.register(FhirClient)
class FhirClientAdmin(AuditedAdmin):
    audit_type_code = SECURITY_CONFIGURATION
    form = FhirClientForm
    list_display = ["organisation", "application_name", "client_id", "scopes"]
    list_filter = ["organisation"]

    @admin.display(description="name")
    def application_name(self, obj: FhirClient) -> str:
        return str(obj.application.name)

    @admin.display(description="client_id")
    def client_id(self, obj: FhirClient) -> str:
        return str(obj.application.client_id)

    def save_model(self, request: HttpRequest, obj: FhirClient, form: Any, change: bool) -> None:
        scopes = form.cleaned_data["scope_choices"]
        if change:
            obj.scopes = " ".join(scopes)
            obj.save(update_fields=["scopes"])
            return
        client, secret = fhir_client_register(organisation=form.cleaned_data["organisation"],
                                              name=form.cleaned_data["name"], scopes=scopes,
                                              registered_by=request.user.get_username())
        obj.pk = client.pk
        obj.application = client.application
        messages.warning(request, f"client_id {client.application.client_id}, secret {secret}: "
                                  "the secret is shown this once.")
