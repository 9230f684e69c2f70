"""The listener in-process: connections are independent, bounded, timed out and stopped cleanly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from config.routes import HL7v2Route
from mllp.ack import ack_for
from mllp.dispatch import Router
from mllp.framing import END_OF_FRAME, frame
from mllp.listener import Limits, Listener
from tests.mllp.client import REGISTRATION, msa, unframe

handler_threads: list[str] = []
slow_started = threading.Event()
release_slow = threading.Event()


def accept(message: Any) -> str:
    handler_threads.append(threading.current_thread().name)
    return ack_for(message)


def slow(message: Any) -> str:
    slow_started.set()
    release_slow.wait(timeout=10)
    return ack_for(message)


ROUTER = Router([
    HL7v2Route("ADT", "A04", "ITI-8", "tests.mllp.test_listener.accept"),
    HL7v2Route("ADT", "A08", "ITI-8", "tests.mllp.test_listener.slow"),
])
REGISTRATION_A04 = REGISTRATION.read_bytes()
UPDATE_A08 = REGISTRATION_A04.replace(b"ADT^A04|205632", b"ADT^A08|205633")


def run(test: Callable[[Listener, int], Awaitable[None]], **limits: Any) -> None:
    async def main() -> None:
        listener = Listener(ROUTER, Limits(**{"max_message_bytes": 1024 * 1024,
                                              "max_connections": 16, "idle_timeout": 30,
                                              **limits}))
        _, port = await listener.start("127.0.0.1", 0)
        try:
            await asyncio.wait_for(test(listener, port), timeout=30)
        finally:
            release_slow.set()
            await listener.stop()
            release_slow.clear()
            slow_started.clear()

    asyncio.run(main())


async def exchange(port: int, message: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame(message))
        return await reader.readuntil(END_OF_FRAME)
    finally:
        writer.close()


def test_handlers_run_in_worker_threads_not_on_the_event_loop() -> None:
    async def check(listener: Listener, port: int) -> None:
        assert msa(unframe(await exchange(port, REGISTRATION_A04))) == ("AA", "205632")

    handler_threads.clear()
    run(check)
    assert handler_threads
    assert all(name.startswith("mllp-handler") for name in handler_threads)


def test_a_slow_handler_on_one_connection_does_not_hold_up_another() -> None:
    async def check(listener: Listener, port: int) -> None:
        waiting = asyncio.create_task(exchange(port, UPDATE_A08))
        assert await asyncio.to_thread(slow_started.wait, 5)
        assert msa(unframe(await exchange(port, REGISTRATION_A04)))[0] == "AA"
        assert not waiting.done()
        release_slow.set()
        assert msa(unframe(await waiting)) == ("AA", "205633")

    run(check)


def test_an_idle_connection_is_closed() -> None:
    async def check(listener: Listener, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        writer.close()

    run(check, idle_timeout=0.2)


def test_connections_past_the_limit_are_refused_while_the_others_are_served() -> None:
    async def check(listener: Listener, port: int) -> None:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        for held_reader, held_writer in held:  # answered, so surely counted
            held_writer.write(frame(REGISTRATION_A04))
            assert msa(unframe(await held_reader.readuntil(END_OF_FRAME)))[0] == "AA"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        writer.close()
        held_reader, held_writer = held[0]
        held_writer.write(frame(REGISTRATION_A04))
        assert msa(unframe(await held_reader.readuntil(END_OF_FRAME)))[0] == "AA"
        for _, each in held:
            each.close()

    run(check, max_connections=2)


def test_stopping_lets_the_message_being_handled_be_answered() -> None:
    async def check(listener: Listener, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(UPDATE_A08))
        assert await asyncio.to_thread(slow_started.wait, 5)
        stopping = asyncio.create_task(listener.stop())
        assert await asyncio.wait_for(idle_reader.read(), timeout=5) == b""
        release_slow.set()
        assert msa(unframe(await reader.readuntil(END_OF_FRAME))) == ("AA", "205633")
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        await stopping
        writer.close()
        idle_writer.close()

    run(check)
