"""The SHA-1 of each binary part, computed while its bytes are written to the request's folder."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

from soap.mtom import CHUNK, Attachment, Limits, decode_inline, read_mtom
from tests.soap.messages import binary_part, envelope, raw_multipart, root_part

LIMITS = Limits(max_request_bytes=64 * 1024 * 1024, max_envelope_bytes=1024 * 1024,
                max_part_bytes=32 * 1024 * 1024, max_parts=10)


class Trickle(io.BytesIO):
    """A request body that arrives in uneven pieces, so parts straddle the reader's chunks."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(min(7777, size if size is not None and size >= 0 else 7777))


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def test_each_mtom_part_comes_with_the_sha1_of_its_bytes(tmp_path: Path) -> None:
    report, scan = os.urandom(3 * CHUNK + 5), b"\r\n--not-the-boundary\r\n" * 1000
    ctype, body = raw_multipart([root_part(envelope("<d:Echo xmlns:d='urn:x'/>")),
                                 binary_part("report@hospa", report), binary_part("scan@hospa", scan)],
                                start="root@client")
    message = read_mtom(Trickle(body), ctype, limits=LIMITS, folder=tmp_path, content_length=len(body))
    for cid, data in (("report@hospa", report), ("scan@hospa", scan)):
        attachment = message.attachments[cid]
        assert attachment.path.read_bytes() == data
        assert (attachment.size, attachment.sha1) == (len(data), sha1(data))


def test_an_empty_part_has_the_sha1_of_nothing(tmp_path: Path) -> None:
    ctype, body = raw_multipart([root_part(envelope("<d:Echo xmlns:d='urn:x'/>")),
                                 binary_part("empty@hospa", b"")], start="root@client")
    message = read_mtom(io.BytesIO(body), ctype, limits=LIMITS, folder=tmp_path, content_length=len(body))
    assert message.attachments["empty@hospa"].sha1 == sha1(b"")


def test_inline_base64_comes_with_the_sha1_of_the_decoded_bytes(tmp_path: Path) -> None:
    data = os.urandom(5 * CHUNK + 3)  # decoded in several pieces
    text = base64.encodebytes(data).decode()  # with line breaks, as some sources send it
    attachment = decode_inline(text, folder=tmp_path)
    assert (attachment.size, attachment.sha1) == (len(data), sha1(data))


def test_an_attachment_made_without_a_digest_says_so_by_an_empty_sha1(tmp_path: Path) -> None:
    attachment = Attachment("doc@hospa", "text/plain", tmp_path / "doc", 0)
    assert attachment.sha1 == ""
