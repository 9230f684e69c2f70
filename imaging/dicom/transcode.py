"""Transfer syntaxes of retrieved instances: which one to answer in, and re-encoding between the
uncompressed little-endian ones (RAD TF-3 4.69.4.2.3, PS3.5 10)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pydicom
import pydicom.filereader
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

# Re-encoding between these changes only how elements are written, never the pixel data.
_NATIVE: dict[str, tuple[bool, bool]] = {
    ExplicitVRLittleEndian: (True, False),  # (is_little_endian, is_implicit_VR)
    ImplicitVRLittleEndian: (True, True),
}


class TranscodeRefused(Exception):
    """The instance would have to have its pixel data compressed or decompressed."""


def transfer_syntax_choose(*, stored: str, requested: Sequence[str]) -> str | None:
    """The syntax to answer in: the stored one when listed, so the instance goes out unchanged;
    else the first listed one the node can re-encode into; None when none can be given.

    RAD TF-3 4.69.4.2.3: the source encodes the instance in one of the requested syntaxes.
    An empty list asks for nothing in particular: the stored syntax.
    """
    wanted = [uid.strip() for uid in requested if uid.strip()]
    if not wanted or stored in wanted:
        return stored
    if stored not in _NATIVE:
        return None  # compressed: only the stored syntax needs no pixel codec
    return next((uid for uid in wanted if uid in _NATIVE), None)


def stored_transfer_syntax(path: Path) -> str:
    """The transfer syntax a Part 10 file's data set is in, from its file meta alone."""
    return str(pydicom.filereader.read_file_meta_info(path).TransferSyntaxUID)


def instance_transcode(*, path: Path, to_syntax: str) -> Path:
    """Re-encode a Part 10 file in place into `to_syntax`; the data set's values stay the same.

    Only explicit VR little endian <-> implicit VR little endian: anything else needs a pixel
    codec, refused with TranscodeRefused.
    """
    ds = pydicom.dcmread(path)
    stored = str(ds.file_meta.TransferSyntaxUID)
    if stored == to_syntax:
        return path
    if stored not in _NATIVE or to_syntax not in _NATIVE:
        raise TranscodeRefused(f"{stored} -> {to_syntax} needs pixel data (de)compression")
    little_endian, implicit_vr = _NATIVE[to_syntax]
    ds.file_meta.TransferSyntaxUID = pydicom.uid.UID(to_syntax)
    # PS3.10 7.1: the file meta group stays explicit VR little endian; only the data set changes.
    ds.save_as(path, enforce_file_format=True, little_endian=little_endian, implicit_vr=implicit_vr)
    return path
