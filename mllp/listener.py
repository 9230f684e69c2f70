"""The MLLP listener: an asyncio TCP server, one task per connection, handlers in worker threads.

Beside the plain port, a second one may speak MLLP over mutually authenticated TLS (ITI TF-2
3.19, ITI-19): the connection is accepted as TCP, then the handshake runs inside the connection's
own task, where a refusal is known together with the peer that caused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lib.tls import HANDSHAKE_TIMEOUT, TlsGate, refusal_reason
from mllp.dispatch import Reply, Router
from mllp.framing import Frame, FrameReader, frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    max_connections: int
    idle_timeout: float  # seconds a connection may stay silent; 0 for no limit
    shutdown_grace: float = 10.0  # seconds a message being handled may take to finish at shutdown
    handshake_timeout: float = HANDSHAKE_TIMEOUT  # seconds a TLS peer may take to authenticate


class Listener:
    """Accepts connections and answers every message on each, in order (original mode, one
    message in flight per connection); connections are independent of each other."""

    def __init__(self, router: Router, limits: Limits, *, workers: int | None = None,
                 on_refusal: Callable[[str, Reply, str], None] | None = None) -> None:
        self.router = router
        self.limits = limits
        # Called in a worker thread, before the AE/AR goes out, for every message refused here,
        # with the peer, the reply and the organisation of the peer's certificate ("" on plain MLLP).
        self.on_refusal = on_refusal
        # Handlers are synchronous Django code: they run here, never on the event loop.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mllp-handler")
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self, host: str, port: int, *, gate: TlsGate | None = None) -> tuple[str, int]:
        """Listen on host:port (0 picks a free port), over TLS through `gate` if given; returns
        the address bound. Every port shares the connection limit and the handlers."""
        server = await asyncio.start_server(
            functools.partial(self._accept, gate=gate), host, port,
            backlog=max(100, self.limits.max_connections), reuse_address=True,
        )
        self._servers.append(server)
        address = server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def stop(self) -> None:
        """Stop accepting; let messages being handled finish and be answered; close the rest."""
        self._stopping = True
        for server in self._servers:
            server.close()
        for task in self._connections - self._busy:
            task.cancel()
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=self.limits.shutdown_grace)
        for task in set(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    def _refused(self, peer: str, reply: Reply, organisation: str) -> None:
        assert self.on_refusal is not None
        try:
            self.on_refusal(peer, reply, organisation)
        except Exception as exc:  # the ACK still goes; the failure is logged without its text
            logger.error("%s refusal hook failed: %s", peer, type(exc).__name__)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                      gate: TlsGate | None = None) -> None:
        peer = _peer(writer)
        task = asyncio.current_task()
        if task is None or self._stopping or len(self._connections) >= self.limits.max_connections:
            logger.warning("%s refused: %d connections open", peer, len(self._connections))
            await _close(writer)
            return
        self._connections.add(task)
        try:
            organisation = ""
            if gate is not None:
                organisation = await self._authenticate(writer, peer, gate)
                if not organisation:
                    return
            await self._converse(reader, writer, peer, task, organisation)
        except TimeoutError:
            logger.info("%s closed after %s s idle", peer, self.limits.idle_timeout)
        except OSError as exc:  # the peer reset or vanished
            logger.info("%s connection lost: %s", peer, type(exc).__name__)
        except asyncio.CancelledError:
            logger.info("%s closed at shutdown", peer)
            raise
        except Exception as exc:
            # Never let one connection take the listener down; the text may quote the message.
            logger.error("%s closed on %s", peer, type(exc).__name__)
        finally:
            self._connections.discard(task)
            self._busy.discard(task)
            await _close(writer)

    async def _authenticate(self, writer: asyncio.StreamWriter, peer: str, gate: TlsGate) -> str:
        """The TLS handshake, then whose certificate it is (ITI TF-2 3.19): the organisation's
        code, or "" to close."""
        loop = asyncio.get_running_loop()
        host = _host(writer)
        try:
            await writer.start_tls(gate.context, ssl_handshake_timeout=self.limits.handshake_timeout)
        except ssl.SSLEOFError:
            logger.info("%s left during the TLS handshake", peer)  # a port probe: nothing to audit
            return ""
        except ssl.SSLError as exc:
            reason = refusal_reason(exc)
            logger.warning("%s refused in the TLS handshake: %s", peer, reason)
            await loop.run_in_executor(self._executor, gate.refused, host, reason)
            return ""
        except OSError as exc:  # reset, or the handshake timed out
            logger.info("%s lost during the TLS handshake: %s", peer, type(exc).__name__)
            return ""
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        organisation = await loop.run_in_executor(self._executor, gate.admit, host, der)
        if not organisation:
            logger.warning("%s refused: its certificate belongs to no organisation", peer)
            return ""
        logger.info("%s authenticated as %s", peer, organisation)
        return organisation

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        peer: str, task: asyncio.Task[None], organisation: str) -> None:
        loop = asyncio.get_running_loop()
        idle_timeout = self.limits.idle_timeout or None
        frames = FrameReader(reader, max_message_bytes=self.limits.max_message_bytes,
                             idle_timeout=idle_timeout)
        async for event in frames:
            self._busy.add(task)
            try:
                if isinstance(event, Frame):
                    size = len(event.payload)
                    reply = await loop.run_in_executor(
                        self._executor, self.router.respond, event.payload, organisation
                    )
                else:
                    size = event.size
                    reply = self.router.reject_oversized(
                        head=event.head, size=event.size, limit=self.limits.max_message_bytes
                    )
                if reply.refusal and self.on_refusal is not None:
                    await loop.run_in_executor(self._executor, self._refused, peer, reply,
                                               organisation)
                writer.write(frame(reply.payload))
                # A peer that does not read its ACK counts as idle too.
                async with asyncio.timeout(idle_timeout):
                    await writer.drain()
                _log_exchange(peer, size, reply)
            finally:
                self._busy.discard(task)
            if self._stopping:
                return
        if frames.mid_frame:
            logger.info("%s closed in the middle of a message", peer)


async def serve_until_signalled(listener: Listener, host: str, port: int, *,
                                ready: Callable[[str, int], None] | None = None,
                                tls_port: int | None = None, gate: TlsGate | None = None) -> None:
    """Run the listener until SIGTERM or SIGINT, then stop it cleanly; with a `gate`, on
    `tls_port` too. `ready` hears of each address bound."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound = [await listener.start(host, port)]
    if gate is not None and tls_port is not None:
        bound.append(await listener.start(host, tls_port, gate=gate))
    if ready is not None:
        for bound_host, bound_port in bound:
            ready(bound_host, bound_port)
    try:
        await stop.wait()
    finally:
        await listener.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _log_exchange(peer: str, size: int, reply: Reply) -> None:
    # No patient data in logs: the peer, MSH-9, MSH-10, sizes and the ACK code only.
    logger.info("%s %s %s: %d bytes in, %d bytes out, %s", peer, reply.message_code or "-",
                reply.control_id or "-", size, len(reply.payload), reply.ack_code or "-")


def _host(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    return str(address[0]) if isinstance(address, tuple) and address else str(address)


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
