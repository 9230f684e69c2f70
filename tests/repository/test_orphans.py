"""The orphan cleanup: bytes a submission wrote before its process died never outlive it."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings

from repository import services, store
from repository.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    before = settings.DOCUMENT_STORAGE
    cast(Any, settings).DOCUMENT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}
    store.document_storage.cache_clear()
    yield tmp_path
    cast(Any, settings).DOCUMENT_STORAGE = before
    store.document_storage.cache_clear()


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_old_bytes_no_row_names_are_removed_and_registered_ones_kept(folder: Path) -> None:
    kept = store.store_put(source=io.BytesIO(b"registered"), key="aa/bb/kept")
    Document.objects.create(unique_id="1.2.3", key=kept.key, size=kept.size, sha1=kept.sha1,
                            mime_type="text/plain", patient_id="P^^^&1.2&ISO")
    store.store_put(source=io.BytesIO(b"orphan"), key="cc/dd/orphan")
    for key in ("aa/bb/kept", "cc/dd/orphan"):
        age(folder / key, 7200)

    assert services.orphans_remove(older_than_seconds=3600) == 1
    assert store.store_exists("aa/bb/kept")
    assert not store.store_exists("cc/dd/orphan")


def test_bytes_of_a_submission_still_being_written_are_left_alone(folder: Path) -> None:
    store.store_put(source=io.BytesIO(b"in flight"), key="ee/ff/young")

    assert services.orphans_remove(older_than_seconds=3600) == 0
    assert store.store_exists("ee/ff/young")


def test_the_partial_file_of_a_killed_write_is_removed_once_old(folder: Path) -> None:
    (folder / "gg").mkdir()
    partial = folder / "gg" / ".doc.x1~partial"
    partial.write_bytes(b"half a docu")
    young = folder / "gg" / ".doc.x2~partial"
    young.write_bytes(b"being written")
    age(partial, 7200)

    assert services.orphans_remove(older_than_seconds=3600) == 1
    assert not partial.exists()
    assert young.exists()
