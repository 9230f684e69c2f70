"""Hostile SOAP bodies against the registry on the real `web` process: each answered with a
SOAP 1.2 Sender fault (SOAP 1.2 Part 1, 5.4.6), recorded as a Security Alert, nothing left
behind, and the next ordinary request answered."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterable, Iterator

import httpx
import pytest
from lxml import etree

from tests.conftest import needs_node
from tests.security.conftest import security_alerts
from tests.servers.node import Node
from tests.soap.messages import SOAP12, echo_body, envelope

pytestmark = needs_node

STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
SOAP_XML = "application/soap+xml; charset=utf-8"
HUNDRED_MB = 100 * 1024 * 1024


def _query(body: str) -> bytes:
    return envelope(body, action=STORED_QUERY, message_id=f"urn:uuid:{uuid.uuid4()}")


def _fault(content: bytes) -> tuple[str, str]:
    root = etree.fromstring(content)
    ns = {"env": SOAP12}
    return (root.findtext("env:Body/env:Fault/env:Code/env:Value", namespaces=ns) or "",
            root.findtext("env:Body/env:Fault/env:Reason/env:Text", namespaces=ns) or "")


def _assert_still_serving(web: Node) -> None:
    response = httpx.post(f"{web.url}/soap/echo", content=envelope(echo_body()),
                          headers={"Content-Type": SOAP_XML}, timeout=10)
    assert response.status_code == 200, response.text
    assert web.processes["web"].alive()
    # Nothing of the refused request is left behind.
    assert not web.soap_temp_dir.exists() or not any(web.soap_temp_dir.iterdir())


def _post_raw(web: Node, head: bytes, body_chunks: Iterable[bytes]) -> bytes:
    """Send the head, then the body from a thread while the answer is read: the node may answer
    before it has read the body, and a client blocked on sending would never see the answer."""
    sock = socket.create_connection(("127.0.0.1", web.http_port), timeout=60)

    def send() -> None:
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:  # the node closed the connection once it had answered
            pass

    sock.sendall(head)
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    raw = b""
    try:
        while b"</env:Envelope>" not in raw:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    finally:
        sock.close()
        sender.join(timeout=30)
    return raw


def test_xml_nested_10000_deep_gets_a_sender_fault_an_alert_and_the_node_serves_on(web: Node) -> None:
    nested = "<x>" * 10_000 + "</x>" * 10_000
    response = httpx.post(f"{web.url}/xds/registry", content=_query(nested),
                          headers={"Content-Type": SOAP_XML}, timeout=30)

    assert response.status_code == 400
    code, reason = _fault(response.content)
    # libxml2 stops at 256 levels without XML_PARSE_HUGE (soap/xml.py).
    assert (code, "Traceback" in response.text) == ("env:Sender", False)
    assert "depth" in reason.lower()
    assert any("at /xds/registry" in alert for alert in security_alerts("Excessive depth"))
    _assert_still_serving(web)


def test_a_100_mb_text_node_with_its_length_declared_is_refused_from_the_header(web: Node) -> None:
    start, _end = _query("<t>MARK</t>").split(b"MARK")
    head = (f"POST /xds/registry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {SOAP_XML}\r\n"
            f"Content-Length: {HUNDRED_MB}\r\n\r\n").encode()
    # Only the first megabyte is offered: the answer must not wait for the rest.
    raw = _post_raw(web, head, [start + b"x" * (1024 * 1024)])

    status_line, _, rest = raw.partition(b"\r\n")
    assert b" 413 " in status_line, raw[:300]
    code, reason = _fault(rest.partition(b"\r\n\r\n")[2])
    assert code == "env:Sender" and "over the limit" in reason
    assert security_alerts("over the limit")
    _assert_still_serving(web)


def test_a_100_mb_text_node_sent_chunked_is_read_only_up_to_the_limit(web: Node) -> None:
    start, end = _query("<t>MARK</t>").split(b"MARK")
    megabyte = b"x" * (1024 * 1024)

    def chunked() -> Iterator[bytes]:
        # RFC 9112 7.1: hexadecimal size, CRLF, data, CRLF; the last chunk is empty.
        for piece in [start, *[megabyte] * 100, end]:
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
        yield b"0\r\n\r\n"

    head = (f"POST /xds/registry HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {SOAP_XML}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    raw = _post_raw(web, head, chunked())

    status_line, _, rest = raw.partition(b"\r\n")
    assert b" 413 " in status_line, raw[:300]
    code, reason = _fault(rest.partition(b"\r\n\r\n")[2])
    assert code == "env:Sender" and "The SOAP envelope is over the limit" in reason
    assert len(security_alerts("The SOAP envelope is over the limit")) >= 1
    _assert_still_serving(web)


@pytest.mark.parametrize("content", [b"\xff\xfe<\x00", b"<?xml version='1.0'?><a>" + b"\x00" * 64],
                         ids=["a utf-16 mark before half a tag", "nul bytes in an element"])
def test_bytes_that_are_not_xml_get_a_sender_fault(web: Node, content: bytes) -> None:
    response = httpx.post(f"{web.url}/xds/registry", content=content,
                          headers={"Content-Type": SOAP_XML}, timeout=10)
    assert response.status_code == 400
    assert _fault(response.content)[0] == "env:Sender"
    _assert_still_serving(web)
