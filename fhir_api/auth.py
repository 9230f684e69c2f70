"""Who is asking, from a bearer token (OAuth2, RFC 6750) or the TLS client certificate (ITI-19).

The certificate's organisation was found by organisations.middleware; a bearer token was issued
by django-oauth-toolkit's token endpoint and is looked up in its table (expiry, revocation).
Neither: 401 with a WWW-Authenticate challenge.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from fhir_api.errors import FhirError
from fhir_api.request import Client

_CHALLENGE = 'Bearer realm="fhir"'


def client_of(request: HttpRequest) -> Client:
    host = request.META.get("REMOTE_ADDR", "")
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        return _bearer(header[7:].strip(), host)
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


def _bearer(token: str, host: str) -> Client:
    """The token's client in one SELECT, as django-oauth-toolkit finds a token (by the SHA-256 of
    its text; a revoked token's row is deleted) and judges it (expired at `expires`). The
    organisation must still be active: switching it off ends its tokens.

    A token found valid is remembered in this process for FHIR_TOKEN_CACHE_SECONDS (never past
    its expiry), as resource servers cache token introspection: a revocation or an organisation
    switched off takes effect within that time."""
    checksum = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    known = _valid_tokens.get(checksum)
    if known is not None and known[0] > now:
        return replace(known[1], host=host)
    row = (AccessToken.objects.filter(token_checksum=checksum)
           .values_list("expires", "scope", "application__client_id",
                        "application__fhir_client__organisation__code",
                        "application__fhir_client__organisation__active").first())
    if row is None or row[0] <= timezone.now() or row[4] is False:
        _valid_tokens.pop(checksum, None)
        raise FhirError(401, "the bearer token is unknown, expired or revoked", code="login",
                        headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'})
    expires, scope, client_id, organisation, _active = row
    client = Client(client_id=client_id or "", organisation=organisation or "", host=host,
                    scopes=frozenset(scope.split()))
    remembered = min(float(settings.FHIR_TOKEN_CACHE_SECONDS), (expires - timezone.now()).total_seconds())
    if remembered > 0:
        if len(_valid_tokens) >= _CACHE_SIZE:
            _valid_tokens.clear()
        _valid_tokens[checksum] = (now + remembered, client)
    return client


_CACHE_SIZE = 4096
_valid_tokens: dict[str, tuple[float, Client]] = {}
