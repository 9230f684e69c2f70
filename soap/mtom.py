"""MTOM/XOP (W3C SOAP MTOM, XOP 1.0): stream a multipart/related request's parts to files, and
stream a response's attachments back from files. Nothing is held whole in memory but the root
part, the SOAP envelope, which has its own limit.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from lxml import etree
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header

from soap import faults
from soap.namespaces import XOP, qname

CHUNK = 64 * 1024
# A request body is read a MiB at a time: a server that buffers ahead (gunicorn reads up to a MiB
# from the socket) copies what it still holds on every read, so small reads cost it dearly.
READ_CHUNK = 1024 * 1024
_CID_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int
    max_envelope_bytes: int
    max_part_bytes: int
    max_parts: int


@dataclass(frozen=True)
class Attachment:
    """A binary part, kept in a temporary file of the request's own folder, with the SHA-1 (lowercase
    hex) of its bytes, computed as they were written; empty when the maker did not compute one."""

    content_id: str
    content_type: str
    path: Path
    size: int
    sha1: str = ""

    def open(self) -> BinaryIO:
        return self.path.open("rb")


@dataclass
class MtomMessage:
    root: bytes
    root_content_type: str
    attachments: dict[str, Attachment] = field(default_factory=dict)


def too_large(what: str, limit: int) -> faults.SoapFault:
    return faults.sender(f"{what} is over the limit of {limit} bytes.", http_status=413)


class _PartCollector:
    """python-multipart callbacks that write each part to its destination as it arrives."""

    def __init__(self, *, start: str | None, limits: Limits, folder: Path) -> None:
        self.start, self.limits, self.folder = start, limits, folder
        self.message: MtomMessage | None = None
        self.root: bytearray | None = None
        self.root_type = ""
        self.root_cid: str | None = None
        self.attachments: dict[str, Attachment] = {}
        self.parts = 0
        self.ended = False
        self._field = b""
        self._value = b""
        self._headers: dict[str, str] = {}
        self._sink: BinaryIO | None = None
        self._digest = hashlib.sha1(usedforsecurity=False)
        self._size = 0
        self._cid = ""
        self._type = ""
        self._path: Path | None = None
        self._into_root = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise faults.sender(f"More than {self.limits.max_parts} MIME parts.", http_status=413)
        self._headers, self._size = {}, 0

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        name = self._field.decode("latin-1").strip().lower()
        self._headers[name] = self._value.decode("latin-1").strip()
        self._field = self._value = b""

    def headers_finished(self) -> None:
        cid = self._headers.get("content-id", "").strip().strip("<>")
        self._type = self._headers.get("content-type", "application/octet-stream")
        encoding = self._headers.get("content-transfer-encoding", "binary").lower()
        if encoding not in ("binary", "8bit", "7bit"):
            raise faults.sender(f"Content-Transfer-Encoding {encoding!r} is not allowed in MTOM.")
        is_root = self.root is None and (self.start is None or cid == self.start)
        if is_root:
            self._into_root, self.root, self.root_type = True, bytearray(), self._type
            self.root_cid = self._cid = cid
            return
        if not cid:
            raise faults.sender("A MIME part other than the root has no Content-ID.")
        if cid in self.attachments or cid == self.root_cid:
            raise faults.sender(f"The Content-ID <{cid}> appears more than once.")
        self._into_root, self._cid = False, cid
        name = f"{len(self.attachments):05d}-{_CID_SAFE.sub('_', cid)[:80]}"
        self._path = self.folder / name
        self._sink = self._path.open("wb")
        self._digest = hashlib.sha1(usedforsecurity=False)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._into_root:
            assert self.root is not None
            if self._size > self.limits.max_envelope_bytes:
                raise too_large("The SOAP envelope part", self.limits.max_envelope_bytes)
            self.root += data[start:end]
            return
        if self._size > self.limits.max_part_bytes:
            raise too_large(f"The MIME part <{self._cid}>", self.limits.max_part_bytes)
        assert self._sink is not None
        piece = data[start:end]
        self._digest.update(piece)
        self._sink.write(piece)

    def part_end(self) -> None:
        if self._into_root:
            self._into_root = False
            return
        assert self._sink is not None and self._path is not None
        self._sink.close()
        self._sink = None
        self.attachments[self._cid] = Attachment(self._cid, self._type, self._path, self._size,
                                                 self._digest.hexdigest())

    def end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()


def read_mtom(stream: BinaryIO, content_type: str, *, limits: Limits, folder: Path,
              content_length: int | None) -> MtomMessage:
    """Parse an MTOM request from the stream, writing attachments under `folder`."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise faults.sender("multipart/related without a boundary parameter.")
    if params.get(b"type", b"").lower() != b"application/xop+xml":
        raise faults.sender('multipart/related must be MTOM: type="application/xop+xml".')
    start = params.get(b"start")
    collector = _PartCollector(start=start.decode("latin-1").strip("<>") if start else None,
                               limits=limits, folder=folder)
    parser = MultipartParser(boundary, collector.callbacks(),  # type: ignore[arg-type]
                             max_header_count=16)
    total = 0
    try:
        for chunk in _chunks(stream, content_length):
            total += len(chunk)
            if total > limits.max_request_bytes:
                raise too_large("The request", limits.max_request_bytes)
            parser.write(chunk)
            if collector.ended:
                break
        parser.finalize()
    except MultipartParseError as exc:
        raise faults.sender(f"Malformed multipart/related body: {exc}") from None
    finally:
        collector.close()
    if not collector.ended:
        raise faults.sender("The multipart/related body ends before its closing boundary.")
    if collector.root is None:
        raise faults.sender("The MTOM message has no root part" +
                            (f" with Content-ID <{collector.start}>." if collector.start else "."))
    return MtomMessage(bytes(collector.root), collector.root_type, collector.attachments)


def _chunks(stream: BinaryIO, content_length: int | None) -> Iterator[bytes]:
    remaining = content_length
    while remaining is None or remaining > 0:
        chunk = stream.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def includes(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(qname(XOP, "Include")))


def cid_of(include: etree._Element) -> str:
    href = include.get("href", "")
    if not href.startswith("cid:"):
        raise faults.sender(f"xop:Include href {href!r} is not a cid: URL.")
    # RFC 2392: the cid URL is the Content-ID, %-encoded.
    return unquote(href[4:])


def check_includes(root: etree._Element, attachments: dict[str, Attachment]) -> None:
    """Every xop:Include must name a part that arrived (XOP 1.0, 3.2)."""
    for include in includes(root):
        cid = cid_of(include)
        if cid not in attachments:
            raise faults.sender(f"xop:Include refers to a missing MIME part <{cid}>.")


def decode_inline(text: str, *, folder: Path) -> Attachment:
    """Inline base64 content (a non-MTOM request), decoded to a file like any attachment."""
    path = folder / f"inline-{uuid.uuid4().hex}"
    size = 0
    digest = hashlib.sha1(usedforsecurity=False)
    try:
        with path.open("wb") as sink:
            compact = "".join(text.split())
            for offset in range(0, len(compact), CHUNK * 4):
                piece = base64.b64decode(compact[offset:offset + CHUNK * 4], validate=True)
                size += len(piece)
                digest.update(piece)
                sink.write(piece)
    except (binascii.Error, ValueError):
        path.unlink(missing_ok=True)
        raise faults.sender("Inline binary content is not valid base64.") from None
    return Attachment(f"inline:{path.name}", "application/octet-stream", path, size, digest.hexdigest())


@dataclass(frozen=True)
class OutgoingAttachment:
    """A binary part of a response: its bytes come from `open`, a file, the document store or
    any other stream, read chunk by chunk while the response is sent. `size` is what the
    Content-Length counts, so `open` must give exactly that many bytes."""

    content_id: str
    content_type: str
    size: int
    open: Callable[[], BinaryIO]

    @classmethod
    def from_path(cls, *, content_id: str, content_type: str, path: Path) -> OutgoingAttachment:
        return cls(content_id, content_type, path.stat().st_size, functools.partial(_open_binary, path))


def _open_binary(path: Path) -> BinaryIO:
    return path.open("rb")


def xop_include(parent: etree._Element, content_id: str) -> etree._Element:
    include = etree.SubElement(parent, qname(XOP, "Include"), nsmap={"xop": XOP})
    include.set("href", "cid:" + content_id)
    return include


def new_content_id() -> str:
    return f"{uuid.uuid4().hex}@hienode"


def content_type(boundary: str, root_cid: str) -> str:
    return (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
            f'start="<{root_cid}>"; start-info="application/soap+xml"')


def write_mtom(root: bytes, attachments: list[OutgoingAttachment], *, boundary: str,
               root_cid: str) -> Generator[bytes, None, None]:
    """The body of an MTOM response, each attachment opened in turn and read chunk by chunk;
    closing the generator early closes the attachment being sent."""
    dash = f"--{boundary}\r\n".encode()
    yield dash
    yield (f'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
           f"Content-Transfer-Encoding: binary\r\nContent-ID: <{root_cid}>\r\n\r\n").encode()
    yield root
    for attachment in attachments:
        yield b"\r\n" + dash
        yield (f"Content-Type: {attachment.content_type}\r\n"
               f"Content-Transfer-Encoding: binary\r\n"
               f"Content-ID: <{attachment.content_id}>\r\n\r\n").encode()
        yield from _attachment_bytes(attachment)
    yield f"\r\n--{boundary}--\r\n".encode()


def _attachment_bytes(attachment: OutgoingAttachment) -> Iterator[bytes]:
    sent = 0
    with attachment.open() as source:
        while chunk := source.read(min(CHUNK, attachment.size - sent + 1)):
            sent += len(chunk)
            if sent > attachment.size:
                break
            yield chunk
    # The Content-Length was counted from `size`: better a broken response than a wrong document.
    if sent != attachment.size:
        raise ValueError(f"the attachment <{attachment.content_id}> gave {sent} bytes, "
                         f"not the {attachment.size} it declared")


def mtom_length(root: bytes, attachments: list[OutgoingAttachment], *, boundary: str,
                root_cid: str) -> int:
    """Content-Length of `write_mtom`'s output, from the attachments' sizes, opening none."""
    size = 0
    for piece in write_mtom(root, [], boundary=boundary, root_cid=root_cid):
        size += len(piece)
    for attachment in attachments:
        head = (f"\r\n--{boundary}\r\nContent-Type: {attachment.content_type}\r\n"
                f"Content-Transfer-Encoding: binary\r\n"
                f"Content-ID: <{attachment.content_id}>\r\n\r\n")
        size += len(head.encode()) + attachment.size
    return size
