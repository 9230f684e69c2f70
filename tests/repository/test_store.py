"""The document store, on a folder and on S3 (moto's server on loopback): what goes in comes out,
in bounded memory, and nothing is left of a write that failed."""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from repository.store import (
    StoreFull,
    StoreMissing,
    check_key,
    document_key,
    document_storage,
    store_delete,
    store_exists,
    store_keys_older_than,
    store_open,
    store_put,
    store_size,
)
from tests.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY

MB = 1024 * 1024
FILESYSTEM = "django.core.files.storage.FileSystemStorage"
S3 = "storages.backends.s3.S3Storage"


class PseudoRandomStream(io.RawIOBase):
    """`size` reproducible pseudo-random bytes, made as they are read: a large document that is
    never in memory whole. It raises `failure` once `fail_after` bytes have been read."""

    def __init__(self, size: int, *, seed: int = 41, fail_after: int | None = None,
                 failure: BaseException | None = None) -> None:
        self.remaining, self.random = size, random.Random(seed)
        self.given, self.fail_after, self.failure = 0, fail_after, failure

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_after is not None and self.given >= self.fail_after:
            raise self.failure or ConnectionResetError("the client went away")
        count = min(len(buffer), self.remaining, 256 * 1024)
        buffer[:count] = self.random.randbytes(count)
        self.remaining -= count
        self.given += count
        return count

    def source(self) -> BinaryIO:
        return cast(BinaryIO, io.BufferedReader(self, MB))


def sha1_of(stream: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha1(usedforsecurity=False), 0
    with stream:
        while chunk := stream.read(MB):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass
class Store:
    kind: str
    leftovers: Callable[[], list[str]]  # whatever the backend holds: files, objects, uploads


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[Store]:
    if request.param == "filesystem":
        folder = tmp_path / "documents"
        settings.DOCUMENT_STORAGE = {"BACKEND": FILESYSTEM, "OPTIONS": {"location": str(folder)}}
        backend = Store("filesystem", lambda: [str(p) for p in folder.rglob("*") if p.is_file()])
    else:
        s3 = request.getfixturevalue("s3_server")
        bucket = s3.new_bucket()
        settings.DOCUMENT_STORAGE = {"BACKEND": S3, "OPTIONS": s3.storage_options(bucket)}

        def leftovers() -> list[str]:
            client = s3.client()
            objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
            uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            return [o["Key"] for o in objects] + [f"upload of {u['Key']}" for u in uploads]

        backend = Store("s3", leftovers)
    document_storage.cache_clear()
    yield backend
    document_storage.cache_clear()


def every_key() -> list[str]:
    return list(store_keys_older_than(-3600))  # a cutoff an hour ahead takes every key


def test_a_stored_document_comes_back_byte_for_byte_with_its_sha1_and_size(store: Store) -> None:
    size = 9 * MB + 123  # more than one S3 part
    key = document_key("1.3.6.1.4.1.21367.2005.3.99.1")
    stored = store_put(source=PseudoRandomStream(size).source(), key=key)
    expected = sha1_of(PseudoRandomStream(size).source())
    assert (stored.sha1, stored.size) == expected
    assert stored.key == key and stored.sha1 == stored.sha1.lower()
    assert sha1_of(store_open(key)) == expected
    assert store_size(key) == size and store_exists(key)


def test_an_empty_document_is_stored(store: Store) -> None:
    stored = store_put(source=io.BytesIO(b""), key="empty")
    assert (stored.size, stored.sha1) == (0, hashlib.sha1(b"", usedforsecurity=False).hexdigest())
    assert store_open("empty").read() == b""


def test_a_64_mb_document_is_stored_in_bounded_memory(store: Store) -> None:
    size = 64 * MB
    store_exists("warm/up")  # the S3 client loads its service model once: not the document's memory
    tracemalloc.start()
    try:
        stored = store_put(source=PseudoRandomStream(size).source(), key="large/document")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stored.size == size and store_size("large/document") == size
    assert peak < 32 * MB, f"peak {peak / MB:.1f} MB"


def test_a_source_failing_midway_leaves_nothing_behind(store: Store) -> None:
    failing = PseudoRandomStream(30 * MB, fail_after=20 * MB)  # after two S3 parts went up
    with pytest.raises(ConnectionResetError):  # the caller's failure, not taken for the store's
        store_put(source=failing.source(), key="ab/cd/interrupted")
    assert every_key() == []
    assert store.leftovers() == []
    assert not store_exists("ab/cd/interrupted")


def test_a_document_replaced_under_its_key_is_the_new_one(store: Store) -> None:
    store_put(source=io.BytesIO(b"first"), key="doc")
    store_put(source=io.BytesIO(b"second"), key="doc")
    with store_open("doc") as stream:
        assert stream.read() == b"second"
    assert every_key() == ["doc"]


def test_deleting_is_idempotent(store: Store) -> None:
    store_put(source=io.BytesIO(b"report"), key="to/delete")
    store_delete(key="to/delete")
    store_delete(key="to/delete")
    store_delete(key="never/written")
    assert not store_exists("to/delete")
    assert store.leftovers() == []


def test_a_missing_document_is_store_missing(store: Store) -> None:
    with pytest.raises(StoreMissing):
        store_open("not/there")
    with pytest.raises(StoreMissing):
        store_size("not/there")
    assert not store_exists("not/there")


def test_keys_are_listed_by_age(store: Store) -> None:
    store_put(source=io.BytesIO(b"a"), key="aa/one")
    store_put(source=io.BytesIO(b"b"), key="bb/two")
    assert list(store_keys_older_than(3600)) == []
    assert sorted(every_key()) == ["aa/one", "bb/two"]


UNSAFE_KEYS = ["../escape", "/etc/passwd", "a/../../b", "a//b", "a/", "./a", "a/./b", "", "a b",
               "caf\u00e9", "a\\b", "a\nb", "urn:oid:1.2.3", "x" * 513]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_an_unsafe_key_is_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="safe"):
        store_put(source=io.BytesIO(b"x"), key=key)
    for use in (store_open, store_size, store_delete):
        with pytest.raises(ValueError, match="safe"):
            use(key)
    assert store.leftovers() == []


def test_a_unique_id_becomes_a_safe_key_spread_over_folders() -> None:
    key = document_key("urn:oid:1.2.3/../4^^^&x")
    assert check_key(key) == key
    assert key == document_key("urn:oid:1.2.3/../4^^^&x")
    first, second, name = key.split("/")
    assert (len(first), len(second), len(name)) == (2, 2, 64) and name.startswith(first + second)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs: a disk that fills up for real."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a tiny filesystem can't be mounted here (mount needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_is_store_full_and_leaves_no_partial_file(settings: Any, tiny_disk: Path) -> None:
    settings.DOCUMENT_STORAGE = {"BACKEND": FILESYSTEM, "OPTIONS": {"location": str(tiny_disk)}}
    document_storage.cache_clear()
    try:
        with pytest.raises(StoreFull):
            store_put(source=PseudoRandomStream(3 * MB).source(), key="ab/cd/too-large")
        assert [p for p in tiny_disk.rglob("*") if p.is_file()] == []
        assert every_key() == []
    finally:
        document_storage.cache_clear()


class _OutOfSpace(BaseHTTPRequestHandler):
    """An S3 server out of space, answering as MinIO does (HTTP 507, XMinioStorageFull)."""

    protocol_version = "HTTP/1.1"
    body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>XMinioStorageFull</Code>'
            b"<Message>Storage backend has reached its minimum free drive threshold.</Message></Error>")

    def handle_expect_100(self) -> bool:
        return True  # refuse before the body is sent: the client then sends none

    def do_PUT(self) -> None:
        if "Expect" not in self.headers:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(507)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(self.body)

    do_POST = do_PUT

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_s3_server_out_of_space_is_store_full(settings: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OutOfSpace)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.DOCUMENT_STORAGE = {"BACKEND": S3, "OPTIONS": {
        "bucket_name": "documents", "endpoint_url": f"http://127.0.0.1:{server.server_address[1]}",
        "region_name": REGION, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}}
    document_storage.cache_clear()
    try:
        with pytest.raises(StoreFull):
            store_put(source=io.BytesIO(b"a small report"), key="ab/cd/refused")
    finally:
        document_storage.cache_clear()
        server.shutdown()
        server.server_close()
