"""gunicorn worker of the `webtls` process: gthread, with every refused TLS handshake audited."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

logger = logging.getLogger(__name__)


class AuthenticatingThreadWorker(ThreadWorker):
    """A ThreadWorker that records a security alert when a peer fails TLS node authentication.

    gthread completes the handshake in a pool thread and hands an `ssl.SSLError` (no client
    certificate, an unknown CA, TLS 1.1) to `handle_error`; a peer that merely connects and
    leaves (SSL_ERROR_EOF, a port probe) never gets there. ITI TF-2 3.19: 110126 Node Authentication.
    """

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, ssl.SSLError):
            self._audit_refusal(addr, exc)
        super().handle_error(req, client, addr, exc)

    @staticmethod
    def _audit_refusal(addr: Any, exc: ssl.SSLError) -> None:
        # Django is set up by now: the worker loaded config.wsgi before serving.
        from lib.tls import refusal_reason
        from organisations.authentication import refusal_recorder

        peer_host = str(addr[0]) if isinstance(addr, tuple) and addr else str(addr or "")
        try:
            refusal_recorder("HTTPS")(peer_host, refusal_reason(exc))
        except Exception as failure:  # the refusal stands even if the audit trail is down
            logger.error("could not audit the TLS refusal of %s: %s", peer_host, type(failure).__name__)
