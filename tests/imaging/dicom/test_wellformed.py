"""imaging/dicom/wellformed.py: which received data sets the storage SCP keeps (PS3.5 7)."""

from __future__ import annotations

import io
import struct

import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit

from imaging.dicom.wellformed import Malformed, check_data_set
from tests.imaging.dicom.datasets import ct_image, part10_bytes


def _data_set(transfer_syntax: str) -> bytes:
    """A CT slice with a sequence, encoded in `transfer_syntax`; the data set alone."""
    ds = ct_image()
    item = Dataset()
    item.CodeValue = "1"
    ds.ReferencedImageSequence = Sequence([item])
    ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    if transfer_syntax == JPEGBaseline8Bit:
        ds.PixelData = encapsulate([b"\xff\xd8abc\xff\xd9", b"\xff\xd8de\xff\xd9"])
        ds["PixelData"].VR = "OB"
    whole = part10_bytes(ds)
    # PS3.10 7.1: preamble, "DICM", (0002,0000) with the length of the rest of the file meta.
    return whole[144 + struct.unpack("<L", whole[140:144])[0]:]


def _check(data: bytes, transfer_syntax: str) -> None:
    check_data_set(io.BytesIO(data), end=len(data), transfer_syntax=transfer_syntax)


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit])
def test_a_whole_data_set_is_well_formed(syntax: str) -> None:
    _check(_data_set(syntax), syntax)


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit])
@pytest.mark.parametrize("cut", [1, 10, 100, 400])
def test_a_data_set_cut_short_anywhere_is_malformed(syntax: str, cut: int) -> None:
    with pytest.raises(Malformed):
        _check(_data_set(syntax)[:-cut], syntax)


def test_garbage_after_the_first_elements_is_malformed() -> None:
    with pytest.raises(Malformed):
        _check(_data_set(ExplicitVRLittleEndian)[:200] + bytes(range(256)) * 4, ExplicitVRLittleEndian)


def test_elements_out_of_tag_order_are_malformed() -> None:
    # (0010,0010) Patient's Name, then (0008,0060) Modality: PS3.5 7.1 wants ascending tags.
    data = b"\x10\x00\x10\x00PN\x04\x00DOE^" + b"\x08\x00\x60\x00CS\x02\x00CT"
    with pytest.raises(Malformed, match="out of order"):
        _check(data, ExplicitVRLittleEndian)
