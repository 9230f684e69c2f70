"""A provided document's size and SHA-1: taken from the SOAP layer when it measured them, read
from the request's file otherwise."""

from __future__ import annotations

import hashlib
from pathlib import Path

from repository.handlers.wire import content_of
from soap.mtom import Attachment

REPORT = b"Chest CT: no acute findings.\n" * 10_000


def test_a_part_measured_on_the_way_in_is_not_read_again(tmp_path: Path) -> None:
    never_written = tmp_path / "00000-report"  # opening it would fail
    content = content_of(Attachment("report@hospa", "text/plain", never_written, 1234, "ab" * 20))
    assert (content.size, content.sha1) == (1234, "ab" * 20)


def test_a_part_without_a_digest_is_measured_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "00000-report"
    path.write_bytes(REPORT)
    content = content_of(Attachment("report@hospa", "text/plain", path, len(REPORT)))
    digest = hashlib.sha1(REPORT, usedforsecurity=False).hexdigest()
    assert (content.size, content.sha1) == (len(REPORT), digest)
    with content.open() as stream:
        assert stream.read() == REPORT
