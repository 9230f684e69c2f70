"""The repository's tests share the node's web process and its document store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from django.conf import settings
from lxml import etree

from tests.repository.provide import SCHEMAS
from tests.servers.node import Node


@pytest.fixture(scope="session")
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "ebRS30" / "rs.xsd")))


@pytest.fixture(scope="session")
def documents_dir(node: Node) -> Iterator[Path]:
    """The node's document store (STORAGE_URL's default under its VAR_DIR), which this process
    reads too, so that a test sees the bytes the web process wrote."""
    folder = node.base / "var" / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    from repository import store

    before = settings.DOCUMENT_STORAGE
    cast(Any, settings).DOCUMENT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(folder)}}
    store.document_storage.cache_clear()
    yield folder
    cast(Any, settings).DOCUMENT_STORAGE = before
    store.document_storage.cache_clear()


@pytest.fixture
def web(node: Node, documents_dir: Path) -> Node:
    # Each test starts with an empty store, as the transactional tests start with an empty database.
    shutil.rmtree(documents_dir)
    documents_dir.mkdir()
    return node.start("web")


@pytest.fixture
def client(web: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=60) as http:
        yield http
