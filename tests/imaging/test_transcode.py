"""Which transfer syntax a retrieved instance goes out in, and re-encoding between the native ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
)

from imaging.dicom.transcode import (
    TranscodeRefused,
    instance_transcode,
    stored_transfer_syntax,
    transfer_syntax_choose,
)
from tests.imaging.dicom.datasets import ct_image, part10_bytes


@pytest.mark.parametrize(("stored", "requested", "chosen"), [
    (ExplicitVRLittleEndian, [ExplicitVRLittleEndian], ExplicitVRLittleEndian),
    (ExplicitVRLittleEndian, [], ExplicitVRLittleEndian),
    (JPEGBaseline8Bit, [], JPEGBaseline8Bit),
    (ImplicitVRLittleEndian, [JPEGBaseline8Bit, ImplicitVRLittleEndian, ExplicitVRLittleEndian],
     ImplicitVRLittleEndian),
    (ExplicitVRLittleEndian, [JPEGBaseline8Bit, ImplicitVRLittleEndian], ImplicitVRLittleEndian),
    (ImplicitVRLittleEndian, [ExplicitVRLittleEndian], ExplicitVRLittleEndian),
    (JPEG2000Lossless, [JPEGLosslessSV1, JPEG2000Lossless], JPEG2000Lossless),
])
def test_the_stored_syntax_wins_when_listed_else_the_first_the_node_can_reencode_into(
        stored: str, requested: list[str], chosen: str) -> None:
    assert transfer_syntax_choose(stored=stored, requested=requested) == chosen


@pytest.mark.parametrize(("stored", "requested"), [
    (ExplicitVRLittleEndian, [JPEGBaseline8Bit]),
    (JPEGBaseline8Bit, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]),
    (JPEG2000Lossless, [JPEGLosslessSV1]),
])
def test_no_syntax_is_chosen_when_pixel_data_would_need_a_codec(stored: str, requested: list[str]) -> None:
    assert transfer_syntax_choose(stored=stored, requested=requested) is None


def write(tmp_path: Path, syntax: str) -> Path:
    ds = ct_image()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
    path.write_bytes(part10_bytes(ds))
    return path


@pytest.mark.parametrize(("source", "target"), [
    (ExplicitVRLittleEndian, ImplicitVRLittleEndian),
    (ImplicitVRLittleEndian, ExplicitVRLittleEndian),
])
def test_reencoding_changes_the_syntax_and_keeps_every_value(tmp_path: Path, source: str,
                                                             target: str) -> None:
    path = write(tmp_path, source)
    before = dcmread(path)

    instance_transcode(path=path, to_syntax=target)

    after = dcmread(path)
    assert stored_transfer_syntax(path) == target
    assert after.original_encoding == (target == ImplicitVRLittleEndian, True)
    assert [(e.tag, e.value) for e in after] == [(e.tag, e.value) for e in before]
    assert after.PixelData == before.PixelData


def test_the_stored_syntax_asked_for_leaves_the_file_alone(tmp_path: Path) -> None:
    path = write(tmp_path, ExplicitVRLittleEndian)
    original = path.read_bytes()

    instance_transcode(path=path, to_syntax=ExplicitVRLittleEndian)

    assert path.read_bytes() == original


def test_compressing_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ExplicitVRLittleEndian)

    with pytest.raises(TranscodeRefused):
        instance_transcode(path=path, to_syntax=JPEGBaseline8Bit)
