"""A hospital's SOAP client against the real web process: envelopes, addressing, MTOM, faults."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from lxml import etree

from soap.mtom import OutgoingAttachment
from tests.conftest import needs_node
from tests.servers.node import Node
from tests.soap.messages import (
    SOAP11,
    SOAP12,
    WSA,
    binary_part,
    echo_body,
    envelope,
    mtom,
    raw_multipart,
    root_part,
)

pytestmark = needs_node
SOAP_XML = "application/soap+xml; charset=utf-8"


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def client(web: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=120) as http:
        yield http


def fault_of(response: httpx.Response) -> tuple[str, str, str]:
    """(code, subcode, reason) of a SOAP 1.2 fault response."""
    root = etree.fromstring(response.content)
    ns = {"env": SOAP12}
    code = root.findtext("env:Body/env:Fault/env:Code/env:Value", namespaces=ns)
    subcode = root.findtext("env:Body/env:Fault/env:Code/env:Subcode/env:Value", namespaces=ns)
    reason = root.findtext("env:Body/env:Fault/env:Reason/env:Text", namespaces=ns)
    return code or "", subcode or "", reason or ""


def parts_of(response: httpx.Response) -> dict[str, bytes]:
    """The MIME parts of an MTOM response, by Content-ID (the root under 'root')."""
    boundary = re.search(r'boundary="([^"]+)"', response.headers["content-type"])
    assert boundary, response.headers["content-type"]
    parts: dict[str, bytes] = {}
    for chunk in response.content.split(b"--" + boundary.group(1).encode())[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        cid = re.search(rb"Content-ID: <([^>]+)>", head)
        data = data[:-2] if data.endswith(b"\r\n") else data
        key = "root" if b"application/xop+xml" in head else cid.group(1).decode()  # type: ignore[union-attr]
        parts[key] = data
    return parts


def test_an_echo_round_trips_with_addressing_headers(client: httpx.Client) -> None:
    response = client.post("/soap/echo", content=envelope(echo_body(), message_id="urn:uuid:42"),
                           headers={"Content-Type": SOAP_XML})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/soap+xml")
    root = etree.fromstring(response.content)
    ns = {"env": SOAP12, "wsa": WSA, "d": "urn:hienode:diagnostics"}
    assert root.findtext("env:Header/wsa:Action", namespaces=ns) == "urn:hienode:diagnostics:EchoResponse"
    action = root.find("env:Header/wsa:Action", namespaces=ns)
    assert action is not None and action.get(f"{{{SOAP12}}}mustUnderstand") == "true"
    assert root.findtext("env:Header/wsa:RelatesTo", namespaces=ns) == "urn:uuid:42"
    assert (root.findtext("env:Header/wsa:MessageID", namespaces=ns) or "").startswith("urn:uuid:")
    assert root.findtext("env:Body/d:EchoResponse/d:Text", namespaces=ns) == "hello"


def test_a_10_mb_mtom_attachment_comes_back_byte_for_byte(client: httpx.Client, tmp_path: Path,
                                                          web: Node) -> None:
    payload = os.urandom(10 * 1024 * 1024)
    document = tmp_path / "study.bin"
    document.write_bytes(payload)
    ctype, body = mtom(envelope(echo_body("doc1@client")),
                       [OutgoingAttachment.from_path(content_id="doc1@client",
                                                     content_type="application/dicom", path=document)])
    response = client.post("/soap/echo", content=body, headers={"Content-Type": ctype})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("multipart/related")
    assert 'type="application/xop+xml"' in response.headers["content-type"]
    parts = parts_of(response)
    assert hashlib.sha1(parts["doc1@client"]).digest() == hashlib.sha1(payload).digest()  # noqa: S324
    assert b'href="cid:doc1@client"' in parts["root"]
    assert_no_temporary_files(web)


def test_a_chunked_request_without_length_is_read(client: httpx.Client) -> None:
    data = envelope(echo_body(text="chunked"))

    def pieces() -> Iterator[bytes]:
        for offset in range(0, len(data), 100):
            yield data[offset:offset + 100]

    response = client.post("/soap/echo", content=pieces(), headers={"Content-Type": SOAP_XML})
    assert response.status_code == 200, response.text
    assert b"chunked" in response.content


def test_the_registry_wsdl_downloads_and_a_soap_client_reads_it(web: Node) -> None:
    from soap.client import make_client

    response = httpx.get(f"{web.url}/xds/registry?wsdl")
    assert response.status_code == 200
    assert b"urn:ihe:iti:2007:RegistryStoredQuery" in response.content
    client = make_client(f"{web.url}/xds/registry?wsdl", fetch_imports=True)
    operations = {
        name for service in client.wsdl.services.values() for port in service.ports.values()
        for name in port.binding._operations
    }
    assert {"DocumentRegistry_RegistryStoredQuery", "DocumentRegistry_RegisterDocumentSet-b",
            "DocumentRegistry_UpdateDocumentSet", "DocumentRegistry_DeleteDocumentSet"} <= operations
    port = next(iter(next(iter(client.wsdl.services.values())).ports.values()))
    assert port.binding_options["address"] == f"{web.url}/xds/registry"


@pytest.mark.parametrize("path", ["/xds/repository", "/xds/imaging", "/soap/echo"])
def test_every_endpoint_serves_its_wsdl(web: Node, path: str) -> None:
    from soap.client import make_client

    client = make_client(f"{web.url}{path}?wsdl", fetch_imports=True)
    assert client.wsdl.services


def test_a_soap_11_envelope_gets_a_version_mismatch_fault(client: httpx.Client) -> None:
    response = client.post("/soap/echo", content=envelope(echo_body(), soap_ns=SOAP11),
                           headers={"Content-Type": "text/xml; charset=utf-8"})
    assert response.status_code == 500
    assert fault_of(response)[0] == "env:VersionMismatch"
    assert b"SupportedEnvelope" in response.content


def test_an_unknown_action_gets_action_not_supported(client: httpx.Client) -> None:
    response = client.post("/xds/registry", content=envelope("<x/>", action="urn:nobody:knows"),
                           headers={"Content-Type": SOAP_XML})
    assert response.status_code == 400
    code, subcode, _ = fault_of(response)
    assert (code, subcode) == ("env:Sender", "wsa:ActionNotSupported")
    assert b"<wsa:Action>urn:nobody:knows</wsa:Action>" in response.content


def test_a_request_without_action_gets_addressing_header_required(client: httpx.Client) -> None:
    response = client.post("/soap/echo", content=envelope(echo_body(), action=None),
                           headers={"Content-Type": SOAP_XML})
    assert fault_of(response)[:2] == ("env:Sender", "wsa:MessageAddressingHeaderRequired")


def test_a_header_that_must_be_understood_but_is_not_gets_must_understand(
        client: httpx.Client) -> None:
    extra = '<sec:Security xmlns:sec="urn:example:sec" s:mustUnderstand="true"/>'
    response = client.post("/soap/echo", content=envelope(echo_body(), extra_headers=extra),
                           headers={"Content-Type": SOAP_XML})
    assert response.status_code == 500
    assert fault_of(response)[0] == "env:MustUnderstand"
    assert b"NotUnderstood" in response.content


def test_a_non_anonymous_reply_address_is_refused(client: httpx.Client) -> None:
    extra = "<wsa:ReplyTo><wsa:Address>http://10.0.0.1/callback</wsa:Address></wsa:ReplyTo>"
    response = client.post("/soap/echo", content=envelope(echo_body(), extra_headers=extra),
                           headers={"Content-Type": SOAP_XML})
    assert fault_of(response)[1] == "wsa:OnlyAnonymousAddressSupported"


# --- Bad input: each gets a fault (or 413/415), leaves no file behind, and the workers live on.

def _xml_bad_inputs() -> dict[str, bytes]:
    from tests.soap.test_xml import LAUGHS, XXE

    return {
        "external entity": XXE,
        "billion laughs": LAUGHS,
        "dtd": envelope(echo_body()).replace(b"<s:Envelope", b"<!DOCTYPE s:Envelope><s:Envelope", 1),
        "300 deep": envelope(echo_body(text="<x>" * 300 + "</x>" * 300)),
        "50 MB text node": envelope(echo_body(text="x" * (50 * 1024 * 1024))),
        "not xml": b"{\"this\": \"is json\"}",
    }


def _mtom_bad_inputs() -> dict[str, tuple[str, bytes]]:
    root = envelope(echo_body("a@client"))
    return {
        "missing part": raw_multipart([root_part(root)], start="root@client"),
        "duplicated content-id": raw_multipart(
            [root_part(root), binary_part("a@client", b"1"), binary_part("a@client", b"2")],
            start="root@client"),
        "10,000 parts": raw_multipart(
            [root_part(root)] + [binary_part(f"p{i}@client", b"x") for i in range(10_000)],
            start="root@client"),
        "part over the size limit": raw_multipart(
            [root_part(root), binary_part("a@client", b"\0" * (17 * 1024 * 1024))],
            start="root@client"),
        "no closing boundary": (raw_multipart([root_part(root)])[0],
                                raw_multipart([root_part(root)])[1][:-20]),
    }


def _assert_clean_refusal(response: httpx.Response, web: Node, workers: set[int]) -> None:
    assert response.status_code in (400, 413, 415, 500), response.status_code
    assert response.headers["content-type"].startswith("application/soap+xml")
    code, _, reason = fault_of(response)
    assert code in ("env:Sender", "env:VersionMismatch"), (code, reason)
    assert "Traceback" not in response.text
    assert_no_temporary_files(web)
    assert web.processes["web"].alive()
    assert _worker_pids(web) == workers


def assert_no_temporary_files(web: Node) -> None:
    # A streamed response's files go when the server has finished sending, a moment after the
    # client has read the last byte.
    deadline = time.monotonic() + 5
    while list(web.soap_temp_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(web.soap_temp_dir.iterdir()) == []


def _worker_pids(web: Node) -> set[int]:
    return {child.pid for child in psutil.Process(web.processes["web"].pid).children(recursive=True)}


@pytest.mark.parametrize("name", list(_xml_bad_inputs()))
def test_hostile_xml_gets_a_sender_fault(client: httpx.Client, web: Node, name: str) -> None:
    workers = _worker_pids(web)
    response = client.post("/soap/echo", content=_xml_bad_inputs()[name],
                           headers={"Content-Type": SOAP_XML})
    _assert_clean_refusal(response, web, workers)


@pytest.mark.parametrize("name", list(_mtom_bad_inputs()))
def test_broken_mtom_gets_a_sender_fault(client: httpx.Client, web: Node, name: str) -> None:
    workers = _worker_pids(web)
    ctype, body = _mtom_bad_inputs()[name]
    response = client.post("/soap/echo", content=body, headers={"Content-Type": ctype})
    _assert_clean_refusal(response, web, workers)


def test_a_wrong_content_type_gets_a_fault_with_415(client: httpx.Client, web: Node) -> None:
    workers = _worker_pids(web)
    response = client.post("/soap/echo", content=b'{"a": 1}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    _assert_clean_refusal(response, web, workers)


def test_a_declared_length_over_the_limit_is_refused_before_reading(web: Node) -> None:
    workers = _worker_pids(web)
    ctype, body = raw_multipart([root_part(envelope(echo_body()))])
    # Claim 2 GiB but send a few KB: the node answers 413 from the header alone.
    head = (f"POST /soap/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {2 * 1024**3}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", web.http_port), timeout=30) as sock:
        sock.sendall(head + body)
        raw = b""
        while b"</env:Envelope>" not in raw:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    status_line, _, rest = raw.partition(b"\r\n")
    assert b" 413 " in status_line
    headers, _, content = rest.partition(b"\r\n\r\n")
    pairs = [line.decode().split(": ", 1) for line in headers.split(b"\r\n")]
    response = httpx.Response(413, headers={name: value for name, value in pairs}, content=content)
    _assert_clean_refusal(response, web, workers)
