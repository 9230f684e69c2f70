"""moto's S3 server on loopback: a real S3 API over HTTP, in a child process, with buckets on demand."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.process import ServerProcess, free_port, services_required

REGION = "us-east-1"
# moto accepts any credentials; these are what the tests sign their requests with.
ACCESS_KEY = "hienode-test"
SECRET_KEY = "hienode-test-secret"


@dataclass
class S3Server:
    port: int
    process: ServerProcess

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def new_bucket(self) -> str:
        """An empty bucket of its own, so each test starts from nothing."""
        name = f"documents-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_options(self, bucket: str) -> dict[str, Any]:
        """django-storages' S3Storage options for a bucket on this server."""
        return {"bucket_name": bucket, "endpoint_url": self.endpoint_url, "region_name": REGION,
                "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "file_overwrite": True}

    def stop(self) -> None:
        self.process.stop()


def start_s3(base: Path) -> S3Server:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        reason = "moto[server] is not installed (make install-dev installs it)"
        if services_required():
            pytest.fail(reason + " and REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = ServerProcess(
        "moto-s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        log_dir=base,
    ).start()
    process.wait_for_port(port)
    return S3Server(port=port, process=process)
