"""The document store's S3 half: objects in an S3-compatible bucket, through django-storages' client."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

CHUNK = 1024 * 1024
# S3 parts but the last must be at least 5 MiB; 8 MiB parts allow 80 GB in S3's 10,000 parts.
PART = 8 * 1024 * 1024
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
# What S3-compatible servers answer when out of space (MinIO's codes; HTTP 507 elsewhere).
FULL_CODES = {"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded",
              "InsufficientStorage"}


def put(storage: Any, key: str, read: Callable[[int], bytes]) -> None:
    """One PUT for a small document; a multipart upload, one part in memory at a time, for a large one."""
    client, bucket, name = _client(storage), storage.bucket_name, _name(storage, key)
    part = _read_part(read)
    if len(part) < PART:
        client.put_object(Bucket=bucket, Key=name, Body=part)
        return
    upload = client.create_multipart_upload(Bucket=bucket, Key=name)["UploadId"]
    try:
        parts: list[dict[str, Any]] = []
        while part:
            answer = client.upload_part(Bucket=bucket, Key=name, UploadId=upload,
                                        PartNumber=len(parts) + 1, Body=part)
            parts.append({"ETag": answer["ETag"], "PartNumber": len(parts) + 1})
            part = b""  # let this part go before the next one is read
            part = _read_part(read)
        client.complete_multipart_upload(Bucket=bucket, Key=name, UploadId=upload,
                                         MultipartUpload={"Parts": parts})
    except BaseException:
        # An upload never completed is invisible but kept, and billed, until it is aborted.
        with contextlib.suppress(BotoCoreError, ClientError):
            client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload)
        raise


def open_(storage: Any, key: str) -> BinaryIO:
    answer = _client(storage).get_object(Bucket=storage.bucket_name, Key=_name(storage, key))
    return cast(BinaryIO, io.BufferedReader(_ObjectBody(answer["Body"]), CHUNK))


def size(storage: Any, key: str) -> int:
    answer = _client(storage).head_object(Bucket=storage.bucket_name, Key=_name(storage, key))
    return int(answer["ContentLength"])


def delete(storage: Any, key: str) -> None:
    _client(storage).delete_object(Bucket=storage.bucket_name, Key=_name(storage, key))


def keys_older_than(storage: Any, cutoff: datetime) -> Iterator[str]:
    prefix = _name(storage, "")
    pages = _client(storage).get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket_name, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            if item["LastModified"] < cutoff:
                yield item["Key"][len(prefix):]


def error_code(exc: BaseException) -> str:
    """The S3 error code of a refusal (HTTP 507 as InsufficientStorage); "" for anything else."""
    if not isinstance(exc, ClientError):
        return ""
    if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 507:
        return "InsufficientStorage"
    return str(exc.response.get("Error", {}).get("Code", ""))


def _read_part(read: Callable[[int], bytes]) -> bytes:
    buffer = bytearray()
    while len(buffer) < PART and (chunk := read(min(CHUNK, PART - len(buffer)))):
        buffer += chunk
    return bytes(buffer)


class _ObjectBody(io.RawIOBase):
    """botocore's streaming body of a GET as a raw stream, so it buffers like a file."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()


def _client(storage: Any) -> Any:
    return storage.connection.meta.client


def _name(storage: Any, key: str) -> str:
    location = str(storage.location).strip("/")
    return f"{location}/{key}" if location else key
