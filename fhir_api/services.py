"""Writes of the FHIR facade: registering an organisation's OAuth2 client."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.db import transaction
from oauth2_provider.models import Application

from audit.events import SECURITY_CONFIGURATION, Peer, security_alert
from audit.services import record
from fhir_api.models import FhirClient
from fhir_api.oauth import known_scopes
from organisations.models import Organisation


class UnknownScope(ValueError):
    pass


def fhir_client_register(*, organisation: Organisation, name: str, scopes: Sequence[str],
                         registered_by: str = "") -> tuple[FhirClient, str]:
    """A client-credentials application for `organisation`'s system, allowed `scopes`.

    Returns the client and its secret: django-oauth-toolkit keeps only a hash of the secret, so
    this is the one moment it can be shown. Audited as a security configuration change.
    """
    unknown = sorted(set(scopes) - set(known_scopes()))
    if unknown:
        raise UnknownScope(f"unknown scopes: {', '.join(unknown)}")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        application = Application.objects.create(
            name=name, client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS, client_secret=secret)
        client = FhirClient.objects.create(application=application, organisation=organisation,
                                           scopes=" ".join(scopes))
        record(security_alert(
            type_code=SECURITY_CONFIGURATION, outcome=0,
            description=(f"FHIR OAuth2 client {application.client_id} registered to "
                         f"{organisation.code} with scopes {' '.join(scopes)}")[:1000],
            performer=Peer(user_id=registered_by) if registered_by else None,
        ), organisation=organisation.code)
    return client, secret
