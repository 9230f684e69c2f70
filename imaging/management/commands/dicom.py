"""Management command `dicom`: the node's C-ECHO and C-STORE listener (the Procfile's `dicom`),
on DICOM_PORT and, when TLS is configured, on DICOM_TLS_PORT too (PS3.15 B.1, ITI-19)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from imaging.dicom.server import receive_to_disk, start_server
from organisations.authentication import listener_gate

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the DICOM listener: Verification SCP and Storage SCP for every storage class."

    def handle(self, *args: Any, **options: Any) -> None:
        receive_to_disk(Path(settings.DICOM_STORAGE_DIR))
        # A missing or unreadable certificate stops the process here, not at the first peer.
        gate = listener_gate(protocol="DICOM")
        stop = threading.Event()

        def request_stop(signum: int, _frame: object) -> None:
            logger.info("DICOM listener stopping on %s", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        server = start_server(host=settings.BIND_ADDRESS, port=settings.DICOM_PORT)
        logger.info(
            "DICOM listener %s on %s:%d", settings.DICOM_AE_TITLE, settings.BIND_ADDRESS,
            settings.DICOM_PORT,
        )
        if gate is not None:
            # One AE behind both ports: DICOM_MAX_ASSOCIATIONS counts them together.
            start_server(host=settings.BIND_ADDRESS, port=settings.DICOM_TLS_PORT, ae=server.ae,
                         gate=gate)
            logger.info("DICOM listener %s over TLS (ITI-19) on %s:%d", settings.DICOM_AE_TITLE,
                        settings.BIND_ADDRESS, settings.DICOM_TLS_PORT)
        stop.wait()
        # Aborts the associations in progress (PS3.8 7.3 A-ABORT) and closes the ports.
        server.ae.shutdown()
        logger.info("DICOM listener stopped")
