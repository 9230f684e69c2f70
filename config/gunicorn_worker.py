"""gunicorn workers of `web` and `webtls`: gthread that slow clients cannot tie up, and (webtls)
every refused TLS handshake audited."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import time
from typing import Any

from gunicorn.workers import gthread
from gunicorn.workers.gthread import ThreadWorker

from lib.env import env_int

logger = logging.getLogger(__name__)

HEADER_END = b"\r\n\r\n"
# A request head larger than this goes to gunicorn's parser as it is, which refuses it.
MAX_HEAD_BYTES = 1024 * 1024


class SlowClientThreadWorker(ThreadWorker):
    """A ThreadWorker whose threads go only to requests that keep coming.

    gthread gives a connection a thread once its first byte arrives and the thread then blocks
    until the request head is whole: a few dozen clients sending a byte a second (slowloris) hold
    every thread. Here the head is read without blocking, by whichever thread the poller wakes,
    and the connection goes back to the poller between reads; a head not whole within
    WEB_HEADER_SECONDS is dropped. After the head, a request must keep arriving at
    WEB_MIN_BYTES_PER_SECOND once WEB_BODY_GRACE_SECONDS have passed (Apache's mod_reqtimeout
    does the same), so a chunked body that never ends holds its thread for a bounded time.
    Over TLS the handshake needs the blocking path, so only the rate applies after it.
    """

    header_seconds = env_int("WEB_HEADER_SECONDS", 10)
    body_grace_seconds = env_int("WEB_BODY_GRACE_SECONDS", 10)
    min_bytes_per_second = env_int("WEB_MIN_BYTES_PER_SECOND", 500)

    def handle(self, conn: Any) -> Any:
        if not conn.initialized and not self.cfg.is_ssl:
            head = self._read_head(conn)
            if head is not True:
                return head
        if conn.initialized:
            unreader = conn.parser.unreader
            raw = getattr(unreader.sock, "raw", unreader.sock)
            unreader.sock = _MinimumRate(raw, grace=self.body_grace_seconds,
                                         rate=self.min_bytes_per_second)
        return super().handle(conn)

    def _read_head(self, conn: Any) -> Any:
        """True once the head is whole and handed to the parser; gthread's `_DEFER` to wait in
        the poller for more; False to close the connection."""
        if not hasattr(conn, "head"):
            conn.head = bytearray()
            conn.head_deadline = time.monotonic() + self.header_seconds
        conn.sock.setblocking(False)
        try:
            while HEADER_END not in conn.head and len(conn.head) <= MAX_HEAD_BYTES:
                data = conn.sock.recv(65536)
                if not data:
                    return False
                conn.head += data
        except BlockingIOError:
            if time.monotonic() > conn.head_deadline:
                logger.warning("request head from %s not complete after %d s: closed",
                               conn.client[0] if conn.client else "?", self.header_seconds)
                # Closed here and at once: gthread's graceful close would linger on the main
                # thread reading what the client still trickles in.
                conn.sock.close()
                return False
            # gthread's own sentinel: the connection waits in the poller, holding no thread.
            return gthread._DEFER
        except OSError:
            return False
        conn.sock.setblocking(True)
        conn.init()
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head = bytearray()
        return True


class _MinimumRate:
    """The client socket, as the parser reads it: a read that would put the request below
    `rate` bytes a second, counted from `grace` seconds after it began, fails with TimeoutError."""

    def __init__(self, raw: socket.socket, *, grace: int, rate: int) -> None:
        self.raw, self.grace, self.rate = raw, grace, rate
        self.started = time.monotonic()
        self.received = 0

    def recv(self, size: int) -> bytes:
        left = self.grace + self.received / self.rate - (time.monotonic() - self.started)
        # TLS may hold decrypted bytes the socket no longer shows as readable.
        pending = isinstance(self.raw, ssl.SSLSocket) and self.raw.pending()
        if left <= 0 or not (pending or select.select([self.raw], [], [], left)[0]):
            # The answer may still go out; what the client sends after it is not read, so
            # neither gthread's drain of the body nor its graceful close waits on it.
            with contextlib.suppress(OSError):
                self.raw.shutdown(socket.SHUT_RD)
            raise TimeoutError(f"request slower than {self.rate} bytes a second")
        data = self.raw.recv(size)
        self.received += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class AuthenticatingThreadWorker(SlowClientThreadWorker):
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
