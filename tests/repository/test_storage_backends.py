"""ITI-41 and ITI-43 through a node whose document store is not the default folder: S3 object
storage (moto's S3 API server on loopback, standing in for S3 or MinIO, which can't run here),
and a disk that fills up (a real 1 MB tmpfs)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from lxml import etree

from registry import models, services
from registry.ebrim.namespaces import FAILURE, SUCCESS
from repository.models import Document
from tests.conftest import needs_node
from tests.registry.submissions import CHIP_MOORE
from tests.repository.provide import (
    X,
    document_requests,
    document_unique_ids,
    errors_of,
    mime_parts,
    post,
    provide_request,
    sha1,
    soap_request,
    text_submission,
)
from tests.servers.node import Node
from tests.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY

pytestmark = needs_node
MB = 1024 * 1024
DOCUMENT = bytes(range(256)) * (5 * MB // 256)  # 5 MB: the S3 store uploads it in parts


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


def node_with_store(node_environment: dict[str, str], base: Path, storage_url: str,
                    extra: dict[str, str] | None = None) -> Node:
    return Node(base=base, env={**node_environment, "STORAGE_URL": storage_url, **(extra or {})})


@pytest.fixture(scope="module")
def s3_node(node_environment: dict[str, str], s3_server: Any,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Any, str]]:
    bucket = s3_server.new_bucket()
    node = node_with_store(
        node_environment, tmp_path_factory.mktemp("s3-node"),
        f"s3://{bucket}?endpoint_url={s3_server.endpoint_url}&region={REGION}",
        {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
    node.start("web")
    yield node, s3_server, bucket
    node.stop()


@pytest.fixture(scope="module")
def tiny_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tiny-disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a tiny filesystem can't be mounted here (mount needs root): {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def retrieve(node: Node, unique_id: str) -> tuple[str, list[bytes]]:
    request = soap_request(document_requests(X + "RetrieveDocumentSetRequest",
                                             [(settings.REPOSITORY_UNIQUE_ID, unique_id)]),
                           action="urn:ihe:iti:2007:RetrieveDocumentSet")
    response = httpx.post(f"{node.url}/xds/repository", content=request.body, timeout=60,
                          headers={"Content-Type": request.content_type})
    assert response.status_code == 200, response.text
    [(_, root), *parts] = mime_parts(response)
    status = etree.fromstring(root).find(".//{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryResponse")
    assert status is not None
    return status.get("status", ""), [data for _, data in parts]


def test_a_document_provided_to_an_s3_store_comes_back_identical(
        s3_node: tuple[Node, Any, str], rs_schema: etree.XMLSchema) -> None:
    node, s3_server, bucket = s3_node
    submit = text_submission()
    with httpx.Client(base_url=node.url, timeout=60) as client:
        answer = post(client, provide_request(submit, {"Document01": DOCUMENT}), rs_schema)
    assert answer.get("status") == SUCCESS, errors_of(answer)
    unique_id = document_unique_ids(submit)["Document01"]
    stored = Document.objects.get(unique_id=unique_id)
    assert stored.sha1 == sha1(DOCUMENT)
    head = s3_server.client().head_object(Bucket=bucket, Key=stored.key)
    assert head["ContentLength"] == len(DOCUMENT)

    status, documents = retrieve(node, unique_id)

    assert status == SUCCESS
    assert [sha1(d) for d in documents] == [sha1(DOCUMENT)]


def test_a_full_disk_is_xds_repository_out_of_resources_and_nothing_is_kept(
        node_environment: dict[str, str], tiny_disk: Path, tmp_path: Path,
        rs_schema: etree.XMLSchema) -> None:
    node = node_with_store(node_environment, tmp_path, f"file://{tiny_disk}")
    node.start("web")
    try:
        submit = text_submission()
        with httpx.Client(base_url=node.url, timeout=60) as client:
            answer = post(client, provide_request(submit, {"Document01": DOCUMENT}), rs_schema)
    finally:
        node.stop()

    assert answer.get("status") == FAILURE
    assert [code for code, _ in errors_of(answer)] == ["XDSRepositoryOutOfResources"]
    unique_id = document_unique_ids(submit)["Document01"]
    assert not models.DocumentEntry.objects.filter(unique_id=unique_id).exists()
    assert not Document.objects.filter(unique_id=unique_id).exists()
    assert [p for p in tiny_disk.rglob("*") if p.is_file()] == []
