"""`manage.py tls_demo_certs`: a throwaway CA and certificates for tests and local trials of ITI-19."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.demo_ca import DEFAULT_CLIENTS, DEFAULT_HOSTS, write_demo_certs


def _names(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = ("Write a demo CA (ca.pem, ca-key.pem), a server certificate for the node and the audit "
            "repository (server.pem, server-key.pem) and one client certificate per name "
            "(<name>.pem, <name>-key.pem) into --out. For tests and local trials only: a real "
            "deployment uses its health information exchange's CA. Never overwrites a file.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="folder to write the PEM files into")
        parser.add_argument("--hosts", type=_names, default=list(DEFAULT_HOSTS),
                            help="the server certificate's DNS names and IP addresses, comma-separated "
                                 f"(default {','.join(DEFAULT_HOSTS)})")
        parser.add_argument("--clients", type=_names, default=list(DEFAULT_CLIENTS),
                            help="one client certificate per name, comma-separated "
                                 f"(default {','.join(DEFAULT_CLIENTS)})")
        parser.add_argument("--days", type=int, default=825, help="validity (default 825 days)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            made = write_demo_certs(Path(options["out"]), hosts=options["hosts"],
                                    clients=options["clients"], days=options["days"])
        except (FileExistsError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"CA:      {made.ca.cert}")
        self.stdout.write(f"server:  {made.server.cert} ({', '.join(options['hosts'])})")
        for name, pair in made.clients.items():
            self.stdout.write(f"client:  {pair.cert} (CN={name})")
        self.stdout.write(self.style.WARNING("Demo certificates: for tests and local trials only."))
