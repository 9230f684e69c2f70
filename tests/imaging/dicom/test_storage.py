"""The storage file layer: which UIDs may name a file, and files written whole or not at all."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from imaging.dicom import storage

VALID_UIDS = [
    "1.2.840.10008.5.1.4.1.1.2",
    "2.25.329800735698586629295641978511506172918",
    "1.2.3.04",  # a leading zero: against PS3.5 9.1, but sent by real modalities
    "1" * 64,
]

INVALID_UIDS = [
    "../../etc/x",
    "",
    ".",
    "..",
    "1..2",
    "1.2.",
    ".1.2",
    "1.2\n",
    "1/2",
    "1.2 ",
    "\uff11.\uff12",  # fullwidth digits
    "1" * 65,
]


@pytest.mark.parametrize("uid", VALID_UIDS)
def test_a_uid_of_digits_and_dots_names_a_file_in_the_storage_folder(tmp_path: Path,
                                                                      uid: str) -> None:
    assert storage.instance_path(directory=tmp_path, sop_instance_uid=uid) == (
        tmp_path / f"{uid}.dcm"
    )


@pytest.mark.parametrize("uid", INVALID_UIDS)
def test_a_uid_outside_the_grammar_names_no_file(tmp_path: Path, uid: str) -> None:
    assert not storage.is_valid_uid(uid)
    with pytest.raises(storage.InvalidUID):
        storage.instance_path(directory=tmp_path, sop_instance_uid=uid)


def test_a_missing_uid_is_not_a_uid() -> None:
    assert not storage.is_valid_uid(None)


def test_an_instance_in_memory_is_written_whole_and_leaves_no_partial_file(
        tmp_path: Path) -> None:
    path = storage.instance_write_bytes(directory=tmp_path, sop_instance_uid="1.2.3",
                                        data=b"DICOM")

    assert path == tmp_path / "1.2.3.dcm"
    assert path.read_bytes() == b"DICOM"
    assert list(storage.partial_dir(tmp_path).iterdir()) == []


def test_an_instance_received_again_replaces_the_first_copy(tmp_path: Path) -> None:
    storage.instance_write_bytes(directory=tmp_path, sop_instance_uid="1.2.3", data=b"first")
    storage.instance_write_bytes(directory=tmp_path, sop_instance_uid="1.2.3", data=b"second")

    assert (tmp_path / "1.2.3.dcm").read_bytes() == b"second"


def test_an_instance_on_disk_is_moved_into_place(tmp_path: Path) -> None:
    source = storage.partial_dir(tmp_path) / "received.dcm"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"DICOM")

    path = storage.instance_move_file(directory=tmp_path, sop_instance_uid="1.2.3",
                                      source=source)

    assert path.read_bytes() == b"DICOM"
    assert not source.exists()


def test_a_write_the_disk_refuses_leaves_nothing_behind(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", disk_full)
    with pytest.raises(OSError):
        storage.instance_write_bytes(directory=tmp_path, sop_instance_uid="1.2.3", data=b"x")

    assert not (tmp_path / "1.2.3.dcm").exists()
    assert list(storage.partial_dir(tmp_path).iterdir()) == []


def test_partial_files_of_interrupted_transfers_are_cleared(tmp_path: Path) -> None:
    storage.partial_dir(tmp_path).mkdir()
    (storage.partial_dir(tmp_path) / "tmpabc.dcm").write_bytes(b"half")

    assert storage.clear_partials(tmp_path) == 1
    assert list(storage.partial_dir(tmp_path).iterdir()) == []
