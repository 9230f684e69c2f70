"""The FHIR facade's OAuth2 clients: which organisation each belongs to and what it may do."""

from __future__ import annotations

from django.db import models
from oauth2_provider.settings import oauth2_settings

from organisations.models import Organisation


class FhirClient(models.Model):
    """An OAuth2 client-credentials application of an affiliated organisation's system.

    The token endpoint grants it at most `scopes`; every interaction it makes is audited under
    its client_id and its organisation.
    """

    application = models.OneToOneField(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE,
                                       related_name="fhir_client")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="fhir_clients")
    scopes = models.TextField(help_text="the scopes this client may be granted, space-separated")

    def __str__(self) -> str:
        return f"{self.organisation.code}: {self.application.name}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()
