"""OAuth2 client credentials (RFC 6749 4.4) for the FHIR facade, issued by django-oauth-toolkit.

A client is granted the scopes its FhirClient row allows; one with no row, or of an inactive
organisation, is granted none, so its token opens nothing.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from oauth2_provider.scopes import BaseScopes


def known_scopes() -> dict[str, str]:
    """Every scope the facade knows, with its description (settings.OAUTH2_PROVIDER)."""
    provider = cast(dict[str, Any], settings.OAUTH2_PROVIDER)
    return dict(provider["SCOPES"])


class ClientScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return known_scopes()

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any,
                             **kwargs: Any) -> list[str]:
        return _allowed(application)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any,
                           **kwargs: Any) -> list[str]:
        # Client credentials without a `scope` parameter: everything the client may have.
        return _allowed(application)


def _allowed(application: Any) -> list[str]:
    from fhir_api.models import FhirClient  # models load after the settings that name this class

    if application is None:
        return []
    client = FhirClient.objects.select_related("organisation").filter(application=application).first()
    if client is None or not client.organisation.active:
        return []
    known = known_scopes()
    return [scope for scope in client.scope_list if scope in known]
