"""Who is asking, from a bearer token (OAuth2, RFC 6750) or the TLS client certificate (ITI-19).

The certificate's organisation was found by organisations.middleware; a bearer token is checked
by django-oauth-toolkit (expiry, revocation). Neither: 401 with a WWW-Authenticate challenge.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from oauth2_provider.oauth2_backends import get_oauthlib_core

from fhir_api.errors import FhirError
from fhir_api.models import FhirClient
from fhir_api.request import Client

_CHALLENGE = 'Bearer realm="fhir"'


def client_of(request: HttpRequest) -> Client:
    host = request.META.get("REMOTE_ADDR", "")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        valid, checked = get_oauthlib_core().verify_request(request, scopes=[])
        token = getattr(checked, "access_token", None)
        if not valid or token is None:
            raise FhirError(401, "the bearer token is unknown, expired or revoked", code="login",
                            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'})
        application = token.application
        fhir_client = FhirClient.objects.select_related("organisation").filter(
            application=application).first()
        return Client(client_id=application.client_id if application else "",
                      organisation=fhir_client.organisation.code if fhir_client else "",
                      host=host, scopes=frozenset(token.scope.split()))
    organisation = getattr(request, "organisation", None)
    if organisation is not None:
        return Client(client_id=f"certificate:{organisation.code}", organisation=organisation.code,
                      host=host, scopes=frozenset(settings.FHIR_CERTIFICATE_SCOPES))
    raise FhirError(401, "this server needs an OAuth2 bearer token (client credentials at "
                    "/oauth/token) or a TLS client certificate", code="login",
                    headers={"WWW-Authenticate": _CHALLENGE})


def require_scope(client: Client, scope: str) -> None:
    """RFC 6750 3.1: a token without the scope the interaction needs is 403 insufficient_scope."""
    if scope not in client.scopes:
        raise FhirError(403, f"this interaction needs the scope {scope}", code="forbidden",
                        headers={"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", '
                                                     f'scope="{scope}"'})
