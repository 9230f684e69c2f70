"""The document store: the bytes of XDS documents, as files or as S3 objects (the blob seam).

A document is written once under a key and read back as a stream; nothing here holds a whole
document in memory. A file is written beside its final name and renamed into place, and an S3
object appears only when its upload completes, so a reader never sees half a document.
`repository/store_s3.py` is the S3 half.

Errors::

    StoreError          the store could not do what was asked
    ├── StoreFull       no space left: disk full, quota, an S3 server out of space
    └── StoreMissing    no document under that key
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

from repository import store_s3

CHUNK = 1024 * 1024
_KEY = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
# "~" is never in a key, so a half-written file is never taken for a document.
_PARTIAL = "~partial"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class StoreError(Exception):
    """The document store could not do what was asked."""


class StoreFull(StoreError):
    """No space left for the document; nothing of it was kept."""


class StoreMissing(StoreError):
    """No document under that key."""


@dataclass(frozen=True)
class StoredBytes:
    key: str
    size: int
    sha1: str  # lowercase hex, as DocumentEntry.hash (ITI TF-3: 4.2.3.2.13)


def document_key(unique_id: str) -> str:
    """A path-safe key for a document's uniqueId, spread over 65,536 sub-folders."""
    digest = hashlib.sha256(unique_id.encode()).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def check_key(key: str) -> str:
    if (len(key) > 512 or not _KEY.fullmatch(key)
            or any(segment in (".", "..") for segment in key.split("/"))):
        raise ValueError(f"{key!r} is not a safe document store key")
    return key


@functools.lru_cache(maxsize=1)
def document_storage() -> Storage:
    """The storage settings.DOCUMENT_STORAGE names, built once per process."""
    return storages.create_storage(settings.DOCUMENT_STORAGE)


def store_put(*, source: BinaryIO, key: str) -> StoredBytes:
    """Write the document read from `source` under `key`, replacing any document there."""
    check_key(key)
    storage = document_storage()
    reader = _Hashing(source)
    try:
        if isinstance(storage, FileSystemStorage):
            _put_file(Path(storage.path(key)), reader)
        else:
            store_s3.put(storage, key, reader.read)
    except (OSError, BotoCoreError, ClientError) as exc:
        if exc is reader.failure:
            raise  # the caller's stream failed, not the store
        raise _store_error(exc) from exc
    return StoredBytes(key=key, size=reader.size, sha1=reader.sha1.hexdigest())


def store_open(key: str) -> BinaryIO:
    """The document as a stream, fetched as it is read; the caller closes it."""
    storage = document_storage()
    with _errors(check_key(key)):
        if isinstance(storage, FileSystemStorage):
            return open(storage.path(key), "rb")
        return store_s3.open_(storage, key)


def store_size(key: str) -> int:
    storage = document_storage()
    with _errors(check_key(key)):
        if isinstance(storage, FileSystemStorage):
            return os.path.getsize(storage.path(key))
        return store_s3.size(storage, key)


def store_exists(key: str) -> bool:
    try:
        store_size(key)
    except StoreMissing:
        return False
    return True


def store_delete(key: str) -> None:
    """Remove the document; removing one that is not there is not an error."""
    storage = document_storage()
    with _errors(check_key(key)):
        if isinstance(storage, FileSystemStorage):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(storage.path(key))
        else:
            store_s3.delete(storage, key)


def store_keys_older_than(seconds: float) -> Iterator[str]:
    """Keys of the documents written more than `seconds` ago (for removing orphans)."""
    storage = document_storage()
    with _errors(""):
        if isinstance(storage, FileSystemStorage):
            yield from _file_keys(Path(storage.location), time.time() - seconds)
        else:
            yield from store_s3.keys_older_than(storage, datetime.now(UTC) - timedelta(seconds=seconds))


def store_partials_remove(seconds: float) -> int:
    """Remove the temporary files of writes a killed process cut short, once older than any write
    lasts. Object storage needs no such sweep: an unfinished upload is never an object."""
    storage = document_storage()
    if not isinstance(storage, FileSystemStorage):
        return 0
    removed, cutoff = 0, time.time() - seconds
    for path in Path(storage.location).rglob(f"*{_PARTIAL}"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


class _Hashing:
    """Reads the caller's stream, counting and hashing what passes, and noting its failure."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.size = 0
        self.sha1 = hashlib.sha1(usedforsecurity=False)
        self.failure: BaseException | None = None

    def read(self, size: int) -> bytes:
        try:
            data = self.source.read(size)
        except BaseException as exc:
            self.failure = exc
            raise
        self.size += len(data)
        self.sha1.update(data)
        return data


def _put_file(path: Path, reader: _Hashing) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_PARTIAL)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            while chunk := reader.read(CHUNK):
                sink.write(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    # The rename itself must survive a power cut, or the registry could name a missing file.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _file_keys(root: Path, cutoff: float) -> Iterator[str]:
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            key = path.relative_to(root).as_posix()
            if not _KEY.fullmatch(key):
                continue  # a write under way, or one a crash cut short
            with contextlib.suppress(FileNotFoundError):  # removed while walking
                if path.stat().st_mtime < cutoff:
                    yield key


@contextlib.contextmanager
def _errors(key: str) -> Iterator[None]:
    """The store's failures as StoreError: missing documents, full disks, unreachable servers."""
    try:
        yield
    except (OSError, BotoCoreError, ClientError) as exc:
        if isinstance(exc, FileNotFoundError) or store_s3.error_code(exc) in store_s3.MISSING_CODES:
            raise StoreMissing(f"no document under the key {key!r}") from exc
        raise _store_error(exc) from exc


def _store_error(exc: BaseException) -> StoreError:
    if ((isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS)
            or store_s3.error_code(exc) in store_s3.FULL_CODES):
        return StoreFull("no space left in the document store")
    return StoreError(f"the document store failed: {type(exc).__name__}")
