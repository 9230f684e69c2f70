"""HL7 v2 over MLLP: framing, message reading and dispatch on MSH-9, as the listener runs them.

The listener hands each frame to `Router.respond` in a worker thread. Here the router has every
line of config.routes.HL7V2_ROUTES, but each handler is `read_and_acknowledge`: it reads the
message with the EMPI's own wire reader (PID demographics, CX identifiers) and answers an ACK,
without the database the real handlers write to. The handlers on the database are exercised over
the real listener by tests/mllp and tests/empi.

Property: every frame gets a reply that is an HL7 ACK with MSA-1 AA, AE or AR, and the router
never reaches its "bug in this package" fallback (it logs at ERROR when it does).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import hl7
from hypothesis import strategies as st

from config.routes import HL7V2_ROUTES
from empi.handlers.v2.wire import Malformed, Reader, pid_demographics
from fuzz.mutate import huge, junk, mutated
from fuzz.seeds import IHE, files
from mllp.ack import ack_for, build_ack
from mllp.codes import AckCode
from mllp.dispatch import Router
from mllp.framing import Frame, FrameDecoder, OversizedFrame
from mllp.message import decode, read_header

ROUTE_KEYS = [("ADT", "A01"), ("ADT", "A04"), ("ADT", "A05"), ("ADT", "A08"), ("ADT", "A40"),
              ("QBP", "Q23"), ("QBP", "Q22"), ("ORM", "O01"), ("OMI", "O23"), ("ADT", "A31"),
              ("ACK", ""), ("", "")]
SEGMENTS = ["PID", "PV1", "EVN", "MRG", "QPD", "RCP", "DSC", "ORC", "OBR", "ZZZ", "MSH", "PD1"]
VERSIONS = ["2.3.1", "2.5", "2.5.1", "2.9", "2", "x.y", ""]


def read_and_acknowledge(message: Any) -> str:
    """A handler as the real ones begin: header, wire reader, PID and identifiers read; then
    AA, or AE for what the reader refuses."""
    header = read_header(message)
    reader = Reader(message, header)
    try:
        pid = reader.segment("PID")
        if pid is not None:
            pid_demographics(reader, pid)
        # CX identifiers where ITI-8 (PID-3, MRG-1) and ITI-9 (QPD-3) carry them.
        for name, number in (("PID", 3), ("MRG", 1), ("QPD", 3)):
            segment = reader.segment(name)
            for repetition in reader.repetitions(reader.field(segment, number)) if segment else []:
                reader.cx(repetition)
    except Malformed as problem:
        return build_ack(header, AckCode.ERROR, problem.error)
    return ack_for(message)


class _Errors(logging.Handler):
    """Remembers the ERROR records of mllp.dispatch: each one is a crash the router absorbed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_router: Router | None = None
_errors = _Errors()


def router() -> Router:
    global _router
    if _router is None:
        _router = Router([dataclasses.replace(route, handler=f"{__name__}.read_and_acknowledge")
                          for route in HL7V2_ROUTES])
    return _router


# -- strategies ---------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\x0b\x1c"), max_size=20)
_escapes = st.sampled_from(["\\F\\", "\\S\\", "\\T\\", "\\R\\", "\\E\\", "\\X0D0A\\", "\\H\\", "\\N\\",
                            "\\.br\\", "\\Cxxyy\\", "\\", "\\X\\", "\\Z99\\", "\\X0\\"])


@st.composite
def field_text(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.one_of(_text, _escapes, st.sampled_from(["^", "~", "&", "^^^&", "|"])),
                           max_size=6))
    if draw(st.integers(0, 40)) == 0:
        pieces.append(draw(huge(b"X")).decode())
    return "".join(pieces)


@st.composite
def message_text(draw: st.DrawFn) -> str:
    # One message in four has a hostile MSH-1, MSH-2 or MSH-9; the rest reach the handlers.
    hostile = draw(st.integers(0, 3)) == 0
    separator, encoding = "|", "^~\\&"
    message_type, trigger = draw(st.sampled_from(ROUTE_KEYS))
    msh9 = f"{message_type}^{trigger}"
    if hostile:
        separator = draw(st.sampled_from(["|", "#", "^", "", "||", "\t", "a"]))
        encoding = draw(st.one_of(st.sampled_from(["^~\\&#", "^~\\", "^^\\&", "", "~^&\\"]),
                                  st.text(max_size=6)))
        msh9 = draw(field_text())
    msh = ["MSH" + separator + encoding, draw(field_text()), draw(field_text()), draw(field_text()),
           draw(field_text()), "20261123101010", "", msh9, draw(st.one_of(st.just("MSG1"), field_text())),
           draw(st.sampled_from(["P", "T", ""])), draw(st.sampled_from(VERSIONS))]
    segments = [separator.join(msh[:draw(st.integers(1, len(msh)))])]
    for name in draw(st.lists(st.sampled_from(SEGMENTS), max_size=6)):
        fields = draw(st.lists(field_text(), max_size=22))
        if name == "PID" and len(fields) > 7 and draw(st.booleans()):
            fields[6] = draw(st.sampled_from(["19800101", "1980", "19801301", "2026-01-01", "0"]))
        segments.append(separator.join([name, *fields]))
    terminator = draw(st.sampled_from(["\r", "\r", "\n", "\r\n"]))
    return terminator.join(segments) + draw(st.sampled_from([terminator, ""]))


@st.composite
def payload(draw: st.DrawFn) -> bytes:
    text = draw(message_text())
    data = text.encode(draw(st.sampled_from(["utf-8", "latin-1"])), errors="replace")
    if draw(st.integers(0, 3)) == 0:
        data = draw(mutated(data))
    return data


def _examples() -> list[bytes]:
    return files(IHE / "examples", "*.hl7", containing=b"MSH")


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, list[int], int]:
    """(the bytes on the connection, where reads split them, the listener's message limit)."""
    examples = _examples()
    sources = [payload(), payload(), junk(256)]
    if examples:
        sources.append(st.sampled_from(examples).flatmap(mutated))
    messages = draw(st.lists(st.one_of(*sources), min_size=1, max_size=3))
    wire = b"".join(b"\x0b" + m + b"\x1c\r" for m in messages)
    if draw(st.integers(0, 3)) == 0:
        wire = draw(mutated(wire, max_edits=3))
    cuts = sorted(draw(st.lists(st.integers(0, len(wire)), max_size=5)))
    limit = draw(st.sampled_from([1024 * 1024, 1024 * 1024, 64, 4096]))
    return wire, cuts, limit


def strategy() -> st.SearchStrategy[tuple[bytes, list[int], int]]:
    return frames()


# -- the property -------------------------------------------------------------------------------

def check(example: tuple[bytes, list[int], int]) -> None:
    wire, cuts, limit = example
    decoder = FrameDecoder(limit)
    events: list[Frame | OversizedFrame] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        events += decoder.feed(wire[start:end])
        assert decoder.buffered_bytes <= limit + len(wire), "the decoder holds more than it may"
    dispatch_log = logging.getLogger("mllp.dispatch")
    dispatch_log.addHandler(_errors)
    try:
        for event in events:
            _errors.records.clear()
            if isinstance(event, Frame):
                reply = router().respond(event.payload)
            else:
                reply = router().reject_oversized(head=event.head, size=event.size, limit=limit)
            assert not _errors.records, f"the router failed: {_errors.records[0].getMessage()}"
            check_ack(reply.payload)
    finally:
        dispatch_log.removeHandler(_errors)


def check_ack(payload: bytes) -> None:
    """`payload` is an HL7 ACK whose MSA-1 is AA, AE or AR."""
    text, _ = decode(payload)
    parsed = hl7.parse(text)
    msa = parsed.segment("MSA")
    assert str(msa(1)) in ("AA", "AE", "AR"), f"MSA-1 is {msa(1)!r}"
