"""Whether a received data set is well formed (PS3.5 7): its elements in ascending tag order,
each with a known VR and a length within the bytes received, its sequences and items closed.

pydicom reads a data set cut short or ending in garbage without complaint, so the storage SCP
walks the elements itself before it keeps an instance. The walk reads headers and seeks over
values: a 100 MB image costs a few reads.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from pydicom.uid import UID

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
# PS3.5 7.1.2: VRs with a reserved 2 bytes and a 32-bit length in explicit VR; the rest 16-bit.
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
SHORT_VRS = {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT",
             b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}


class Malformed(ValueError):
    """The data set is not well formed; the message says where."""


def check_data_set(fp: BinaryIO, *, end: int, transfer_syntax: str) -> None:
    """Walk the data set from `fp`'s position to `end`; Malformed if it is not well formed.
    A deflated data set (PS3.5 A.5) cannot be walked without inflating it and is let through."""
    syntax = UID(transfer_syntax)
    if syntax.is_deflated:
        return
    _Walker(fp, explicit=not syntax.is_implicit_VR,
            little=syntax.is_little_endian).elements(end=end, closer=None)


class _Walker:
    def __init__(self, fp: BinaryIO, *, explicit: bool, little: bool) -> None:
        self.fp, self.explicit = fp, explicit
        self.order = "<" if little else ">"

    def read(self, size: int, end: int) -> bytes:
        data = self.fp.read(size)
        if len(data) < size or self.fp.tell() > end:
            raise Malformed(f"cut short at byte {self.fp.tell()}")
        return data

    def tag(self, end: int) -> int:
        group, element = struct.unpack(self.order + "HH", self.read(4, end))
        return int(group) << 16 | int(element)

    def skip(self, length: int, end: int) -> None:
        if self.fp.tell() + length > end:
            raise Malformed(f"a value of {length} bytes at byte {self.fp.tell()} goes past the end")
        self.fp.seek(length, 1)

    def elements(self, *, end: int, closer: int | None) -> None:
        """Elements up to `end`, or up to the `closer` delimitation item of an undefined length."""
        previous = -1
        while self.fp.tell() < end:
            tag = self.tag(end)
            if closer is not None and tag == closer:
                self.read(4, end)
                return
            if tag <= previous or tag >> 16 == 0xFFFE:
                raise Malformed(f"tag ({tag >> 16:04X},{tag & 0xFFFF:04X}) out of order")
            previous = tag
            vr, length = self.header(end)
            if length != UNDEFINED:
                self.skip(length, end)
            elif vr in (b"SQ", b"UN", b"OB", b"OW", None):
                self.items(end=end, fragments=tag == PIXEL_DATA)
            else:
                raise Malformed(f"undefined length for VR {vr!r}")
        if closer is not None:
            raise Malformed("an item of undefined length is not closed")

    def header(self, end: int) -> tuple[bytes | None, int]:
        if not self.explicit:
            return None, int(struct.unpack(self.order + "L", self.read(4, end))[0])
        vr = self.read(2, end)
        if vr in LONG_VRS:
            self.read(2, end)
            return vr, int(struct.unpack(self.order + "L", self.read(4, end))[0])
        if vr in SHORT_VRS:
            return vr, int(struct.unpack(self.order + "H", self.read(2, end))[0])
        raise Malformed(f"unknown VR {vr!r} at byte {self.fp.tell() - 2}")

    def items(self, *, end: int, fragments: bool) -> None:
        """PS3.5 7.5 sequence items (or PS3.5 A.4 fragments) up to the sequence delimiter."""
        while True:
            tag = self.tag(end)
            length = int(struct.unpack(self.order + "L", self.read(4, end))[0])
            if tag == SEQUENCE_END:
                return
            if tag != ITEM:
                raise Malformed(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) where an item belongs")
            if length != UNDEFINED:
                self.skip(length, end)
            elif fragments:
                raise Malformed("a fragment of undefined length")
            else:
                self.elements(end=end, closer=ITEM_END)
