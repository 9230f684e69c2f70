"""The `mllp` process: HL7 v2 over MLLP on settings.BIND_ADDRESS:settings.MLLP_PORT, and over
TLS (ITI-19) on MLLP_TLS_PORT when TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE are set."""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from audit.edges import hl7_refused
from config.routes import HL7V2_ROUTES
from mllp.dispatch import Router
from mllp.listener import Limits, Listener, serve_until_signalled
from organisations.authentication import listener_gate


class Command(BaseCommand):
    help = "Listen for HL7 v2 messages over MLLP and answer each (PIX/PDQ: ITI-8, ITI-9, ITI-21)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.BIND_ADDRESS,
                            help="address to listen on (default: BIND_ADDRESS)")
        parser.add_argument("--port", type=int, default=settings.MLLP_PORT,
                            help="port to listen on (default: MLLP_PORT)")
        parser.add_argument("--tls-port", type=int, default=settings.MLLP_TLS_PORT,
                            help="port for MLLP over TLS, when TLS is configured (default: MLLP_TLS_PORT)")

    def handle(self, *args: Any, host: str, port: int, tls_port: int, **options: Any) -> None:
        # Handlers are imported now, so that a wrong dotted path stops the process at start-up.
        router = Router(HL7V2_ROUTES)
        limits = Limits(
            max_message_bytes=settings.MLLP_MAX_MESSAGE_BYTES,
            max_connections=settings.MLLP_MAX_CONNECTIONS,
            idle_timeout=settings.MLLP_IDLE_TIMEOUT,
        )
        # A missing or unreadable certificate stops the process here, not at the first peer.
        gate = listener_gate(protocol="MLLP")

        def ready(bound_host: str, bound_port: int) -> None:
            over = " over TLS (ITI-19)" if gate is not None and bound_port == tls_port else ""
            self.stdout.write(f"MLLP listener{over} on {bound_host}:{bound_port} "
                              f"({len(HL7V2_ROUTES)} HL7 v2 routes)")

        listener = Listener(router, limits, on_refusal=hl7_refused)
        asyncio.run(serve_until_signalled(listener, host, port, ready=ready, tls_port=tls_port,
                                          gate=gate))
        self.stdout.write("MLLP listener stopped")
