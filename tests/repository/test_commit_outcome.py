"""A database error at the commit of an ITI-41 leaves its outcome unknown to the repository: the
server may have committed and the acknowledgement been lost with the connection. The bytes are
removed only when the database says no Document row names them.

A commit whose acknowledgement is lost cannot be produced on demand against a real server, so
the one seam faked here is that loss: an on-commit callback raises the OperationalError a
dropped connection raises, after the real commit. Everything else is the real service."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, transaction

from registry import models, services
from registry.ebrim.read import read_submission
from repository import services as repository_services
from repository import store
from repository.inspection import Inspection
from repository.models import Document
from tests.registry.submissions import CHIP_MOORE
from tests.repository.provide import set_slot, text_submission

pytestmark = pytest.mark.django_db(transaction=True)
REPORT = b"CT chest: no acute findings.\n"


@pytest.fixture
def documents(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.DOCUMENT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                 "OPTIONS": {"location": str(tmp_path / "documents")}}
    store.document_storage.cache_clear()
    services.patient_identity_register(patient_id=CHIP_MOORE)
    yield tmp_path / "documents"
    store.document_storage.cache_clear()


def provide(index: Any) -> None:
    digest = hashlib.sha1(REPORT, usedforsecurity=False).hexdigest()
    content = repository_services.Content(open=lambda: io.BytesIO(REPORT), size=len(REPORT), sha1=digest)
    submit = text_submission()
    # What the ITI-41 handler completes before the service (ITI TF-2b 3.41.4.1.3).
    for name, value in (("hash", digest), ("size", str(len(REPORT))),
                        ("repositoryUniqueId", settings.REPOSITORY_UNIQUE_ID)):
        set_slot(submit, "Document01", name, value)
    repository_services.document_set_provide(
        submission=read_submission(submit), contents={"Document01": content},
        inspections=[Inspection(index=index)], source="hospital A")


def files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_commit_whose_acknowledgement_is_lost_keeps_the_bytes_its_rows_name(documents: Path) -> None:
    def lose_the_acknowledgement() -> None:
        def dropped() -> None:
            raise OperationalError("server closed the connection unexpectedly")
        transaction.on_commit(dropped)

    with pytest.raises(OperationalError):
        provide(lose_the_acknowledgement)

    document = Document.objects.get()
    assert models.DocumentEntry.objects.get().unique_id == document.unique_id
    with store.store_open(document.key) as stream:
        assert stream.read() == REPORT


def test_a_database_error_before_the_commit_removes_the_bytes(documents: Path) -> None:
    def fail() -> None:
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError):
        provide(fail)

    assert not Document.objects.exists() and not models.DocumentEntry.objects.exists()
    assert files(documents) == []
