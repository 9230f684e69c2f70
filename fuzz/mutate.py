"""Strategies shared by the fuzzers: real messages mutated byte by byte, and hostile byte runs."""

from __future__ import annotations

from hypothesis import strategies as st

# Bytes that mean something to the parsers: MLLP framing, segment and field separators, XML
# and MIME syntax, JSON syntax, and the bytes that make text invalid UTF-8.
SPECIAL = [b"\x0b", b"\x1c", b"\r", b"\n", b"\r\n", b"|", b"^", b"~", b"\\", b"&", b"<", b">", b"\"",
           b"'", b"=", b"/", b"--", b"{", b"}", b"[", b"]", b":", b",", b"\x00", b"\xff", b"\xc3",
           b"\xe2\x80", b"&#0;", b"]]>", b"<!DOCTYPE x>", b"\\u0000", b"1e999999"]


def junk(max_size: int = 64) -> st.SearchStrategy[bytes]:
    """Short runs of bytes weighted towards the ones parsers treat specially."""
    return st.one_of(st.binary(max_size=max_size),
                     st.lists(st.sampled_from(SPECIAL), max_size=8).map(b"".join))


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, *, max_edits: int = 6) -> bytes:
    """`seed` with a few edits: bytes replaced, runs inserted, deleted, repeated or cut off."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, max_edits))):
        size = len(data)
        at = draw(st.integers(0, size))
        edit = draw(st.sampled_from(("insert", "delete", "replace", "repeat", "truncate")))
        if edit == "insert":
            data[at:at] = draw(junk())
        elif edit == "delete" and size:
            del data[at:at + draw(st.integers(1, 64))]
        elif edit == "replace" and at < size:
            data[at:at + 1] = draw(junk(4))
        elif edit == "repeat" and at < size:
            end = at + draw(st.integers(1, 256))
            data[at:at] = bytes(data[at:end]) * draw(st.integers(1, 50))
        elif edit == "truncate":
            del data[at:]
    return bytes(data)


def huge(piece: bytes = b"A") -> st.SearchStrategy[bytes]:
    """A long run of one piece, up to a few hundred kilobytes."""
    return st.integers(1, 300_000).map(lambda count: piece * count)
