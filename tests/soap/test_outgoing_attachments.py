"""Attachments of a response: streamed from any opener, chunk by chunk, each stream closed."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from soap.mtom import CHUNK, Limits, OutgoingAttachment, content_type, mtom_length, read_mtom, write_mtom

ROOT = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'
LIMITS = Limits(max_request_bytes=64 * 1024 * 1024, max_envelope_bytes=1024 * 1024,
                max_part_bytes=32 * 1024 * 1024, max_parts=10)


class WatchedStream(io.BytesIO):
    """A document's bytes that remember the largest read and whether they were closed."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.largest_read = max(self.largest_read, len(data))
        return data


def opener_of(data: bytes, opened: list[WatchedStream], *, size: int | None = None) -> OutgoingAttachment:
    """An attachment whose opener hands out `data`, keeping each stream it opened in `opened`."""

    def open_() -> BinaryIO:
        opened.append(WatchedStream(data))
        return cast(BinaryIO, opened[-1])

    return OutgoingAttachment("report@node", "application/pdf", len(data) if size is None else size, open_)


def test_an_attachment_from_a_path_knows_its_size_and_opens_the_file(tmp_path: Path) -> None:
    path = tmp_path / "study.bin"
    path.write_bytes(b"DICM" * 1000)
    attachment = OutgoingAttachment.from_path(content_id="doc@client", content_type="application/dicom",
                                              path=path)
    assert attachment.size == 4000
    with attachment.open() as stream:
        assert stream.read() == b"DICM" * 1000


def test_an_attachment_streams_from_its_opener_in_chunks_and_is_closed(tmp_path: Path) -> None:
    data = os.urandom(5 * CHUNK + 17)
    opened: list[WatchedStream] = []
    attachment = opener_of(data, opened)
    length = mtom_length(ROOT, [attachment], boundary="B0undary", root_cid="root@node")
    assert opened == []  # the length comes from the declared size
    body = b"".join(write_mtom(ROOT, [attachment], boundary="B0undary", root_cid="root@node"))
    assert len(body) == length
    assert len(opened) == 1 and opened[0].closed and opened[0].largest_read <= CHUNK
    message = read_mtom(io.BytesIO(body), content_type("B0undary", "root@node"), limits=LIMITS,
                        folder=tmp_path, content_length=len(body))
    assert message.root == ROOT
    assert message.attachments["report@node"].path.read_bytes() == data


def test_a_response_abandoned_midway_closes_the_attachment() -> None:
    opened: list[WatchedStream] = []
    body = write_mtom(ROOT, [opener_of(os.urandom(4 * CHUNK), opened)], boundary="B", root_cid="r@n")
    while not opened:
        next(body)
    body.close()  # what Django does when the client goes away
    assert opened[0].closed


@pytest.mark.parametrize("declared", [999, 1001])
def test_an_opener_giving_another_size_than_declared_fails_the_response(declared: int) -> None:
    opened: list[WatchedStream] = []
    attachment = opener_of(b"x" * 1000, opened, size=declared)
    with pytest.raises(ValueError, match="declared"):
        b"".join(write_mtom(ROOT, [attachment], boundary="B", root_cid="r@n"))
    assert opened[0].closed
