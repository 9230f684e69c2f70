"""`manage.py fhir_client_add ORGANISATION NAME [--scope ...]`: an OAuth2 client for the FHIR facade."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fhir_api.oauth import known_scopes
from fhir_api.services import UnknownScope, fhir_client_register
from organisations.models import Organisation


class Command(BaseCommand):
    help = ("Register a client-credentials OAuth2 client of an organisation's system for /fhir. "
            "Prints its client_id and secret once; tokens come from POST /oauth/token.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", help="the organisation's code, e.g. hospa")
        parser.add_argument("name", help="what the client is, e.g. 'Hospital A viewer'")
        parser.add_argument("--scope", action="append", dest="scopes",
                            help=f"repeat for each; default all but AuditEvent: {', '.join(known_scopes())}")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(code=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"no organisation has the code {options['organisation']!r}")
        scopes = options["scopes"] or [s for s in known_scopes() if s != "system/AuditEvent.read"]
        try:
            client, secret = fhir_client_register(organisation=organisation, name=options["name"],
                                                  scopes=scopes, registered_by="manage.py")
        except UnknownScope as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"client_id: {client.application.client_id}")
        self.stdout.write(f"client_secret: {secret}  (shown once)")
        self.stdout.write(f"scopes: {client.scopes}")
