"""Slow HTTP clients against the real `web` process (gunicorn gthread, config/gunicorn.py):
while many sockets trickle their headers a byte at a time (slowloris) or send a chunked body
that never ends, an ordinary request is still answered within seconds."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import ON_POSTGRES, needs_node
from tests.servers.node import Node
from tests.soap.messages import echo_body, envelope

pytestmark = [*needs_node, pytest.mark.skipif(
    ON_POSTGRES, reason="gunicorn's handling of sockets is the same whichever the database")]

# More sockets than the web process has threads (WEB_WORKERS x WEB_THREADS: 2 x 8); under plain
# gthread either number holds every thread for as long as the clients care to.
SLOW_HEADS = 40
SLOW_BODIES = 24


@pytest.fixture(scope="module")
def web(node_environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A web process of its own, with short limits so the test need not wait the defaults out."""
    running = Node(base=tmp_path_factory.mktemp("slow-clients"), env={
        **node_environment, "WEB_HEADER_SECONDS": "3", "WEB_BODY_GRACE_SECONDS": "1"})
    running.start("web")
    for _ in range(4):  # both workers past their first request, which loads the application
        _answers_quickly(running)
    yield running
    running.stop()


@contextmanager
def slow_clients(web: Node, count: int, opening: bytes,
                 trickle: Callable[[int], bytes]) -> Iterator[list[socket.socket]]:
    """`count` sockets that send `opening`, then `trickle(n)` every half second."""
    stop = threading.Event()
    sockets = [socket.create_connection(("127.0.0.1", web.http_port), timeout=5)
               for _ in range(count)]

    def dribble() -> None:
        n = 0
        while not stop.wait(0.5):
            for sock in sockets:
                # The node may have given up on this one: so much the better.
                with contextlib.suppress(OSError):
                    sock.sendall(trickle(n))
            n += 1

    for sock in sockets:
        sock.sendall(opening)
    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        thread.join()
        for sock in sockets:
            sock.close()


def _what_the_node_said(sockets: list[socket.socket], within: float) -> list[bytes | None]:
    """What the node sent each socket before closing it, or None for one still open after
    `within` seconds."""
    deadline = time.monotonic() + within
    said: list[bytes | None] = []
    for sock in sockets:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
            said.append(received)
        except ConnectionResetError:
            said.append(received)
        except TimeoutError:
            said.append(None)
    return said


def _answers_quickly(web: Node) -> float:
    started = time.monotonic()
    response = httpx.post(f"{web.url}/soap/echo", content=envelope(echo_body()),
                          headers={"Content-Type": "application/soap+xml"}, timeout=10)
    assert response.status_code == 200
    return time.monotonic() - started


def test_many_clients_sending_headers_a_byte_at_a_time_do_not_hold_up_others(web: Node) -> None:
    header = b"X-Slow: " + b"a" * 4000
    with slow_clients(web, SLOW_HEADS, b"POST /xds/registry HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                      lambda n: header[n % len(header):][:1]) as sockets:
        time.sleep(1)  # under plain gthread, every thread would be waiting on one by now
        assert _answers_quickly(web) < 3
        assert _answers_quickly(web) < 3
        # WEB_HEADER_SECONDS (3 here) after they began, the node drops them unanswered.
        assert _what_the_node_said(sockets, within=5) == [b""] * SLOW_HEADS
    assert web.processes["web"].alive()


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_many_bodies_that_never_end_do_not_hold_up_others(web: Node, framing: str) -> None:
    start = envelope(echo_body()).split(b"<s:Body>")[0]
    head = (b"POST /soap/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/soap+xml\r\n")
    if framing == "chunked":
        opening = head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(start), start)
        trickle = b"1\r\n \r\n"
    else:  # a Content-Length the client never gets to
        opening = head + b"Content-Length: 100000\r\n\r\n" + start
        trickle = b" "
    with slow_clients(web, SLOW_BODIES, opening, lambda n: trickle) as sockets:
        time.sleep(1)
        # A slow body holds its thread for WEB_BODY_GRACE_SECONDS (1 here) and a little more
        # for the bytes it did send, then gives it up; those past the threads wait their turn,
        # and so may the ordinary request.
        assert _answers_quickly(web) < 4
        said = _what_the_node_said(sockets, within=6)
        assert _answers_quickly(web) < 1
    # SOAP 1.2 Part 2, 7.5.2.2: each is told, in a Sender fault, that it was too slow.
    statuses = {(answer or b"still open")[:30] for answer in said}
    assert statuses == {b"HTTP/1.1 408 Request Timeout\r\n"}
    assert all(b"arrived too slowly" in (answer or b"") for answer in said)
