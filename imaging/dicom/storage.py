"""Storage SCP file layer: where a received instance lands, written whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# PS3.5 9.1: a UID is components of digits separated by ".", at most 64 characters. Leading
# zeros (which 9.1 forbids) are tolerated: real modalities send them and they are path-safe.
# [0-9], not \d, which also matches non-ASCII digits.
_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")
UID_MAX_LENGTH = 64

# Instances are written here first, then renamed into place, so a reader of the storage
# folder never sees half a file.
PARTIAL_DIR_NAME = ".partial"


class InvalidUID(ValueError):
    """A SOP Instance UID outside the PS3.5 9.1 grammar: it cannot name a file."""


def is_valid_uid(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= UID_MAX_LENGTH
        and _UID.fullmatch(value) is not None
    )


def instance_path(*, directory: Path, sop_instance_uid: str) -> Path:
    """The file an instance is stored in, `<SOP Instance UID>.dcm`, always inside `directory`."""
    if not is_valid_uid(sop_instance_uid):
        raise InvalidUID(sop_instance_uid)
    return directory / f"{sop_instance_uid}.dcm"


def partial_dir(directory: Path) -> Path:
    return directory / PARTIAL_DIR_NAME


def clear_partials(directory: Path) -> int:
    """Remove what transfers cut off mid-instance left behind; call it before serving."""
    removed = 0
    for leftover in partial_dir(directory).glob("*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def instance_write_bytes(*, directory: Path, sop_instance_uid: str, data: bytes) -> Path:
    """Write a Part 10 file held in memory into place atomically."""
    target = instance_path(directory=directory, sop_instance_uid=sop_instance_uid)
    _write_atomically(target, lambda temp: temp.write(data))
    return target


def instance_move_file(*, directory: Path, sop_instance_uid: str, source: Path) -> Path:
    """Move a Part 10 file already on disk into place atomically; copy only across devices."""
    target = instance_path(directory=directory, sop_instance_uid=sop_instance_uid)
    directory.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as received:
        os.fsync(received.fileno())
        try:
            os.replace(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _write_atomically(
                target, lambda temp: shutil.copyfileobj(received, temp, 1024 * 1024)
            )
            return target
    _fsync_directory(directory)
    return target


def _write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Temp file in the target's file system, fsync, rename over the target, fsync the folder."""
    directory = target.parent
    partial_dir(directory).mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=partial_dir(directory), suffix=".dcm")
    try:
        with os.fdopen(fd, "wb") as temp:
            write(temp)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # A rename is durable only once the folder's own entry has reached the disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
