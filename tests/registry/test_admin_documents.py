"""The registry's documents in the operators' console: hospital A's CT manifest for Jane Doe read
by a person, deprecated (ITI-57) and deleted (ITI-62, with ITI-86 for the bytes) through the
services, downloaded as an audited Export; the data steward only looks, the auditor sees none."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.http import urlencode

from audit.models import AuditEvent
from organisations.roles import AUDITOR, DATA_STEWARD, OPERATOR
from registry import models
from registry.errors import RegistryError
from repository import store
from repository.models import Document
from tests.console import assert_no_query_per_row, signed_in
from tests.registry.factories import (
    JANE,
    LOINC,
    a_document,
    a_folder,
    a_patient,
    a_submission,
    a_submission_set,
    a_uuid,
    an_association,
    an_oid,
)

pytestmark = pytest.mark.django_db

ENTRIES = "/admin/registry/documententry/"
APND = "urn:ihe:iti:2007:AssociationType:APND"
KOS_BYTES = b"DICM" + b"\x00" * 124 + b"a key object selection"


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    # The console's users sign in with force_login: their passwords need no costly hash here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def documents(settings: Any, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "documents"
    settings.DOCUMENT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                 "OPTIONS": {"location": str(folder)}}
    store.document_storage.cache_clear()
    yield folder
    store.document_storage.cache_clear()


def janes_manifest(*, held: bool = False) -> models.DocumentEntry:
    """Hospital A's CT manifest for Jane, in a submission set and a folder; its bytes in this
    repository when `held`."""
    a_patient(JANE)
    entry = a_document(patient=JANE)
    a_submission(entry, folder=a_folder(patient=JANE))
    if held:
        entry.repository_unique_id = settings.REPOSITORY_UNIQUE_ID
        entry.save(update_fields=["repository_unique_id"])
        stored = store.store_put(source=io.BytesIO(KOS_BYTES), key=store.document_key(entry.unique_id))
        Document.objects.create(unique_id=entry.unique_id, key=stored.key, size=stored.size, sha1=stored.sha1,
                                mime_type="application/dicom", patient_id=JANE)
    return entry


def act(client: Client, action: str, entry: models.DocumentEntry, *, confirmed: bool) -> Any:
    data = {"action": action, "_selected_action": [str(entry.pk)]}
    data.update({"post": "yes"} if confirmed else {"index": "0"})
    return client.post(ENTRIES, data, follow=confirmed)


def audited(transaction: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(transaction=transaction))


def test_the_operator_reads_an_entrys_metadata_with_the_value_sets_display_names(client: Client) -> None:
    models.CodeValue.objects.create(kind="classCode", code="18748-4", scheme=LOINC,
                                    display_name="Diagnostic imaging study")
    entry = janes_manifest()
    operator = signed_in(client, OPERATOR)

    page = operator.get(f"{ENTRIES}{entry.pk}/change/").content.decode()

    assert f"Diagnostic imaging study (<code>18748-4</code>, {LOINC})" in page
    assert "2024-01-15 10:30:00 UTC" in page and "Computed Tomography" in page
    package = models.SubmissionSet.objects.get()
    folder = models.Folder.objects.get()
    assert f"/admin/registry/submissionset/{package.pk}/change/" in page
    assert f"/admin/registry/folder/{folder.pk}/change/" in page
    assert "Deprecate…" in page and "Delete…" in page


def test_a_replacement_is_linked_both_ways(client: Client) -> None:
    old, new = janes_manifest(), a_document(patient=JANE)
    an_association(new.entry_uuid, old.entry_uuid, kind="urn:ihe:iti:2007:AssociationType:RPLC")
    operator = signed_in(client, OPERATOR)

    assert "replaced by" in operator.get(f"{ENTRIES}{old.pk}/change/").content.decode()
    assert "replaces" in operator.get(f"{ENTRIES}{new.pk}/change/").content.decode()


def test_a_submission_set_and_a_folder_show_their_entries(client: Client) -> None:
    entry = janes_manifest()
    operator = signed_in(client, OPERATOR)
    package, folder = models.SubmissionSet.objects.get(), models.Folder.objects.get()

    package_page = operator.get(f"/admin/registry/submissionset/{package.pk}/change/").content.decode()
    folder_page = operator.get(f"/admin/registry/folder/{folder.pk}/change/").content.decode()

    assert entry.unique_id in package_page and folder.unique_id in package_page
    assert entry.unique_id in folder_page and package.unique_id in folder_page


def test_the_operator_deprecates_an_entry_through_iti57(client: Client) -> None:
    entry = janes_manifest()
    operator = signed_in(client, OPERATOR, username="the-operator")

    confirmation = act(operator, "deprecate_entries", entry, confirmed=False)
    assert confirmation.status_code == 200 and entry.unique_id in confirmation.content.decode()
    assert models.DocumentEntry.objects.get().status == models.APPROVED

    done = act(operator, "deprecate_entries", entry, confirmed=True)

    assert "deprecated (ITI-57)" in done.content.decode()
    assert models.DocumentEntry.objects.get().status == models.DEPRECATED
    assert models.SubmissionSet.objects.count() == 2  # the update's own submission set
    (update,) = audited("ITI-57")
    assert update.user_id == "the-operator" and update.action_code == "U"


def test_a_refused_deprecation_changes_nothing(client: Client) -> None:
    entry = janes_manifest()
    models.PatientIdentity.objects.all().delete()  # Jane's ID no longer known to the registry
    operator = signed_in(client, OPERATOR)

    done = act(operator, "deprecate_entries", entry, confirmed=True)

    assert "Nothing was deprecated" in done.content.decode()
    assert "XDSUnknownPatientId" in done.content.decode()
    assert models.DocumentEntry.objects.get().status == models.APPROVED
    assert models.SubmissionSet.objects.count() == 1
    assert [e.outcome for e in audited("ITI-57")] == [8]  # the refusal, recorded on its own


def test_the_operator_deletes_an_entry_with_its_associations_and_its_bytes(
        client: Client, documents: Path, django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    entry = janes_manifest(held=True)
    operator = signed_in(client, OPERATOR)

    confirmation = act(operator, "delete_entries", entry, confirmed=False).content.decode()
    assert "Associations (3)" in confirmation and entry.unique_id in confirmation
    assert "Documents removed from this repository (ITI-86) (1)" in confirmation

    with django_capture_on_commit_callbacks(execute=True):
        done = act(operator, "delete_entries", entry, confirmed=True)

    assert "deleted (ITI-62)" in done.content.decode()
    # The submission set keeps its folder; the entry's memberships went with it.
    assert not models.DocumentEntry.objects.exists() and models.Association.objects.count() == 1
    assert models.SubmissionSet.objects.exists() and models.Folder.objects.exists()
    assert not Document.objects.exists()
    assert not store.store_exists(store.document_key(entry.unique_id))
    assert len(audited("ITI-62")) == 1 and len(audited("ITI-86")) == 1


def test_when_the_repository_refuses_the_registrys_delete_is_undone(
        client: Client, documents: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = janes_manifest(held=True)
    monkeypatch.setattr("registry.admin_documents.documents_remove", lambda **_: [RegistryError(
        "XDSDocumentUniqueIdError", "the repository holds no document with this uniqueId")])
    operator = signed_in(client, OPERATOR)

    done = act(operator, "delete_entries", entry, confirmed=True)

    assert "Nothing was deleted" in done.content.decode()
    assert models.DocumentEntry.objects.count() == 1 and models.Association.objects.count() == 4
    assert Document.objects.count() == 1 and not audited("ITI-86")
    assert [e.outcome for e in audited("ITI-62")] == [8]


def test_a_download_streams_the_bytes_and_is_audited_as_an_export(client: Client, documents: Path) -> None:
    entry = janes_manifest(held=True)
    operator = signed_in(client, OPERATOR, username="the-operator")

    response = operator.get(f"{ENTRIES}{entry.pk}/download/")

    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    assert b"".join(response.streaming_content) == KOS_BYTES  # type: ignore[attr-defined]
    assert "attachment" in response["Content-Disposition"]
    (export,) = audited("ITI-43")
    assert export.event_id == "110106" and export.user_id == "the-operator" and JANE in export.patient_ids


def test_a_download_of_bytes_another_repository_holds_answers_404(client: Client, documents: Path) -> None:
    entry = janes_manifest()
    operator = signed_in(client, OPERATOR)

    response = operator.get(f"{ENTRIES}{entry.pk}/download/")

    assert response.status_code == 404
    assert "does not hold the document" in response.content.decode() and not audited("ITI-43")


def test_a_data_steward_reads_documents_but_cannot_deprecate_or_delete(client: Client) -> None:
    entry = janes_manifest()
    steward = signed_in(client, DATA_STEWARD)

    page = steward.get(f"{ENTRIES}{entry.pk}/change/").content.decode()
    assert "Metadata" in page and "Deprecate…" not in page and "Delete…" not in page
    assert steward.get(f"/admin/registry/folder/{models.Folder.objects.get().pk}/change/").status_code == 200
    act(steward, "deprecate_entries", entry, confirmed=True)
    act(steward, "delete_entries", entry, confirmed=True)

    assert models.DocumentEntry.objects.get().status == models.APPROVED
    assert not audited("ITI-57") and not audited("ITI-62")


def test_an_auditor_sees_no_document_page(client: Client) -> None:
    entry = janes_manifest()
    auditor = signed_in(client, AUDITOR)

    for url in (ENTRIES, f"{ENTRIES}{entry.pk}/change/", f"{ENTRIES}{entry.pk}/download/",
                "/admin/registry/submissionset/", "/admin/registry/folder/", "/admin/repository/document/"):
        assert auditor.get(url).status_code in (302, 403), url
    act(auditor, "deprecate_entries", entry, confirmed=True)
    assert models.DocumentEntry.objects.get().status == models.APPROVED


def test_the_searches_match_identifiers_exactly(client: Client) -> None:
    entry = janes_manifest()
    operator = signed_in(client, OPERATOR)

    assert entry.unique_id in operator.get(ENTRIES, {"q": entry.unique_id}).content.decode()
    assert entry.unique_id not in operator.get(ENTRIES, {"q": entry.unique_id[:-1]}).content.decode()
    assert entry.unique_id in operator.get(ENTRIES, {"q": JANE, "status": "approved"}).content.decode()


def a_row_of(url: str) -> None:
    """One row of the list at `url`, with what its columns show."""
    if "submissionset" in url:
        a_submission_set()
    elif "folder" in url:
        a_folder()
    elif "association" in url:
        an_association(a_uuid(), a_uuid())
    elif "patientidentity" in url:
        a_patient(f"{a_uuid()[9:17]}^^^&1.3.6.1.4.1.21367.2005.3.7&ISO", merged_into=JANE)
    elif "repository" in url:
        Document.objects.create(unique_id=an_oid(), key=a_uuid()[9:], size=1, sha1="0" * 40,
                                mime_type="application/dicom", patient_id=JANE)
    else:
        a_document(status=models.DEPRECATED if "deprecated" in url else models.APPROVED)


@pytest.mark.parametrize("url", [ENTRIES, f"{ENTRIES}?status=deprecated", f"{ENTRIES}?class=18748-4|{LOINC}",
                                 f"{ENTRIES}?{urlencode({'q': JANE})}",
                                 "/admin/registry/submissionset/",
                                 "/admin/registry/folder/", "/admin/registry/association/",
                                 "/admin/registry/patientidentity/", "/admin/repository/document/"])
def test_a_list_page_takes_as_many_queries_for_thirty_rows_as_for_three(client: Client, url: str) -> None:
    operator = signed_in(client, OPERATOR)

    def add_rows(count: int) -> None:
        for _ in range(count):
            a_row_of(url)

    assert_no_query_per_row(operator, url, add_rows)


def test_an_entry_page_takes_as_many_queries_with_thirty_relations_as_with_three(client: Client) -> None:
    entry = janes_manifest()
    operator = signed_in(client, OPERATOR)

    def add_rows(count: int) -> None:
        for _ in range(count):
            folder = a_folder()
            an_association(folder.entry_uuid, entry.entry_uuid)
            an_association(a_document().entry_uuid, entry.entry_uuid, kind=APND)

    assert_no_query_per_row(operator, f"{ENTRIES}{entry.pk}/change/", add_rows)


@pytest.mark.parametrize("kind", ["submissionset", "folder"])
def test_a_package_page_takes_as_many_queries_for_thirty_entries_as_for_three(client: Client,
                                                                            kind: str) -> None:
    janes_manifest()
    package = models.SubmissionSet.objects.get() if kind == "submissionset" else models.Folder.objects.get()
    operator = signed_in(client, OPERATOR)

    def add_rows(count: int) -> None:
        for _ in range(count):
            an_association(package.entry_uuid, a_document().entry_uuid, ss_status="Original")

    assert_no_query_per_row(operator, f"/admin/registry/{kind}/{package.pk}/change/", add_rows)
