"""`manage.py bootstrap_demo`: the demo affinity domain, when the database has none yet."""

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from fhir_api.oauth import known_scopes
from fhir_api.services import fhir_client_register
from organisations.models import Organisation
from organisations.services import demo_bootstrap


class Command(BaseCommand):
    help = ("Create the demo affinity domain (its assigning authority, hospitals A and B) and an "
            "operator account, if the database has no organisation yet. The operator's password "
            "is read from HIENODE_OPERATOR_PASSWORD, or generated and printed once.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo_bootstrap(
            affinity_domain_cx4=settings.AFFINITY_DOMAIN_AUTHORITY,
            operator_username=os.environ.get("HIENODE_OPERATOR_USERNAME", "operator"),
            operator_password=os.environ.get("HIENODE_OPERATOR_PASSWORD") or None,
        )
        if not result.created:
            self.stdout.write("The affinity domain exists already; nothing to bootstrap.")
            return
        self.stdout.write(self.style.SUCCESS(
            "Bootstrapped the demo affinity domain: hospitals A and B."))
        if result.operator_password:
            self.stdout.write(self.style.WARNING(
                f"Operator account: {result.operator_username} / {result.operator_password}  "
                "(shown once: keep it, or set HIENODE_OPERATOR_PASSWORD)"))
        else:
            self.stdout.write(f"Operator account: {result.operator_username}")
        if result.radiologist_password:
            self.stdout.write(self.style.WARNING(
                f"Hospital B's radiologist (/priors/): {result.radiologist_username} / "
                f"{result.radiologist_password}  (shown once)"))
        # Hospital A's system on the FHIR facade: MHD, PIXm, PDQm and ImagingStudy.
        client, secret = fhir_client_register(
            organisation=Organisation.objects.get(code="hospa"), name="Hospital A FHIR client",
            scopes=[s for s in known_scopes() if s != "system/AuditEvent.read"])
        self.stdout.write(self.style.WARNING(
            f"Hospital A's FHIR client (POST /oauth/token, client credentials): "
            f"{client.application.client_id} / {secret}  (shown once)"))
