"""HL7 v2 fuzzed: MLLP framing, message reading and dispatch answer every input with an ACK, in
process and over the listener's real socket (the fuzzing run itself: `make fuzz`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import hl7
from hypothesis import given

from empi.handlers.v2.wire import Reader
from fuzz import hl7v2
from fuzz.engine import fuzz_settings
from mllp.framing import END_OF_FRAME, frame
from mllp.listener import Limits, Listener
from mllp.message import read_header
from tests.mllp.client import REGISTRATION, msa, read_frame


@fuzz_settings(40)
@given(hl7v2.strategy())
def test_every_framed_input_gets_an_ack_and_never_reaches_the_routers_fallback(
        example: tuple[bytes, list[int], int]) -> None:
    hl7v2.check(example)


def test_a_bare_msh_segment_after_the_header_does_not_fail_the_wire_reader() -> None:
    # Found by the fuzzer: python-hl7 raises IndexError writing out an MSH without MSH-1 and
    # MSH-2, so every handler answered AE 207 (internal error) instead of reading the PID.
    text = "MSH|^~\\&|HIS|HOSPA|||20261123101010||ADT^A04|MSG1|P|2.5\rMSH\rPID|||A123"
    message = hl7.parse(text)
    reader = Reader(message, read_header(message))
    assert reader.segment("PID") == ["PID", "", "", "A123"]
    assert reader.segment("MRG") is None
    hl7v2.check((b"\x0b" + text.encode() + b"\x1c\r", [], 1024 * 1024))


@contextmanager
def listening(max_message_bytes: int) -> Iterator[int]:
    """The real listener on a loopback port, on an event loop of its own thread."""
    loop = asyncio.new_event_loop()
    listener = Listener(hl7v2.router(), Limits(max_message_bytes=max_message_bytes,
                                               max_connections=8, idle_timeout=5))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    _, port = asyncio.run_coroutine_threadsafe(listener.start("127.0.0.1", 0), loop).result(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(listener.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def replies(port: int, wire: bytes) -> list[bytes]:
    """Send `wire` and the end of the stream; every block the listener sends before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(wire)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):  # the listener closes once the stream has ended
            received += chunk
    return [block.split(b"\x0b", 1)[-1] for block in received.split(END_OF_FRAME) if block]


def test_over_the_listeners_socket_fuzzed_input_gets_acks_or_a_clean_close_and_it_serves_on() -> None:
    with listening(max_message_bytes=64 * 1024) as port:

        @fuzz_settings(25)
        @given(hl7v2.strategy())
        def exchange(example: tuple[bytes, list[int], int]) -> None:
            wire, _, _ = example
            for reply in replies(port, wire):
                hl7v2.check_ack(reply)

        exchange()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(frame(REGISTRATION.read_bytes()))
            assert msa(read_frame(sock))[0] == "AA"
