"""SOAP requests as a hospital's client sends them, written by hand so tests control every byte."""

from __future__ import annotations

import uuid

from soap.mtom import OutgoingAttachment, content_type, write_mtom

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
ECHO = "urn:hienode:diagnostics:Echo"


def envelope(body: str, *, action: str | None = ECHO, message_id: str | None = None,
             extra_headers: str = "", soap_ns: str = SOAP12) -> bytes:
    message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
    action_header = (f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
                     if action else "")
    return (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<s:Envelope xmlns:s="{soap_ns}" xmlns:wsa="{WSA}"><s:Header>{action_header}'
            f"<wsa:MessageID>{message_id}</wsa:MessageID>"
            f"<wsa:To>http://localhost/soap/echo</wsa:To>{extra_headers}</s:Header>"
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


def echo_body(*cids: str, text: str = "hello") -> str:
    includes = "".join(
        f'<d:Document><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
        f'href="cid:{cid}"/></d:Document>' for cid in cids)
    return f'<d:Echo xmlns:d="urn:hienode:diagnostics"><d:Text>{text}</d:Text>{includes}</d:Echo>'


def mtom(root: bytes, attachments: list[OutgoingAttachment]) -> tuple[str, bytes]:
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    root_cid = f"root.{uuid.uuid4().hex}@client"
    body = b"".join(write_mtom(root, attachments, boundary=boundary, root_cid=root_cid))
    return content_type(boundary, root_cid), body


def raw_multipart(parts: list[tuple[dict[str, str], bytes]], *, boundary: str = "B0undary",
                  start: str | None = None) -> tuple[str, bytes]:
    """A multipart/related body from explicit parts, for malformed MTOM."""
    chunks = []
    for headers, data in parts:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    ctype = f'multipart/related; type="application/xop+xml"; boundary="{boundary}"'
    if start:
        ctype += f'; start="<{start}>"'
    return ctype, b"".join(chunks)


def root_part(xml: bytes, cid: str = "root@client") -> tuple[dict[str, str], bytes]:
    return ({"Content-Type": 'application/xop+xml; charset=UTF-8; type="application/soap+xml"',
             "Content-ID": f"<{cid}>"}, xml)


def binary_part(cid: str, data: bytes) -> tuple[dict[str, str], bytes]:
    return ({"Content-Type": "application/octet-stream", "Content-Transfer-Encoding": "binary",
             "Content-ID": f"<{cid}>"}, data)
