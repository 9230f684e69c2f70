"""ITI-41 through the real web process: hospital A provides documents, the repository stores
their bytes and registers them, all or nothing."""

from __future__ import annotations

import contextlib
import io
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from lxml import etree

from audit.models import AuditEvent
from registry import errors as registry_errors
from registry import models, services
from registry.ebrim.namespaces import FAILURE, SUCCESS
from registry.ebrim.read import read_submission
from registry.errors import RegistryErrors
from repository import errors, store
from repository import services as repository_services
from repository.models import Document
from tests.conftest import needs_node
from tests.registry import submissions
from tests.registry.submissions import CHIP_MOORE
from tests.repository.provide import (
    document_unique_ids,
    errors_of,
    post,
    provide_request,
    set_slot,
    sha1,
    stored_keys,
    text_submission,
)
from tests.servers.node import Node
from tests.soap.messages import SOAP12

pytestmark = needs_node
REPORT = b"CT chest: no acute findings.\n"
OTHER_REPORT = b"CT chest: a 4 mm nodule in the right upper lobe.\n"


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


def read_back(unique_id: str) -> bytes:
    with store.store_open(Document.objects.get(unique_id=unique_id).key) as stored:
        return stored.read()


def refused(answer: etree._Element, submit: etree._Element) -> list[tuple[str, str]]:
    """The errors of a Failure, after checking that nothing was kept and the refusal was audited."""
    assert answer.get("status") == FAILURE
    assert not models.SubmissionSet.objects.filter(
        unique_id=submissions.unique_ids(submit)["submission_set"]).exists()
    assert not models.DocumentEntry.objects.filter(
        unique_id__in=document_unique_ids(submit).values()).exists()
    assert not Document.objects.filter(unique_id__in=document_unique_ids(submit).values()).exists()
    assert stored_keys() == []
    assert AuditEvent.objects.filter(transaction="ITI-41", outcome=8, event_id="110107").exists()
    return errors_of(answer)


@pytest.mark.parametrize("as_mtom", [True, False], ids=["mtom", "inline-base64"])
def test_hospital_a_provides_one_document_and_the_repository_fills_in_its_metadata(
        client: httpx.Client, rs_schema: etree.XMLSchema, as_mtom: bool) -> None:
    submit = text_submission()
    [unique_id] = document_unique_ids(submit).values()
    answer = post(client, provide_request(submit, {"Document01": REPORT}, as_mtom=as_mtom), rs_schema)
    assert (answer.get("status"), errors_of(answer)) == (SUCCESS, [])
    entry = models.DocumentEntry.objects.get(unique_id=unique_id)
    assert (entry.size, entry.hash, entry.repository_unique_id) == (
        len(REPORT), sha1(REPORT), settings.REPOSITORY_UNIQUE_ID)
    document = Document.objects.get(unique_id=unique_id)
    assert (document.size, document.sha1, document.mime_type, document.patient_id) == (
        len(REPORT), sha1(REPORT), "text/plain", CHIP_MOORE)
    assert read_back(unique_id) == REPORT
    assert stored_keys() == [document.key]
    event = AuditEvent.objects.get(transaction="ITI-41", outcome=0)
    assert (event.event_id, event.patient_ids) == ("110107", CHIP_MOORE)


def test_hospital_a_provides_two_documents_in_one_submission(client: httpx.Client,
                                                            rs_schema: etree.XMLSchema) -> None:
    submit = text_submission(documents=2)
    answer = post(client, provide_request(submit, {"Document01": REPORT, "Document02": OTHER_REPORT}),
                  rs_schema)
    assert (answer.get("status"), errors_of(answer)) == (SUCCESS, [])
    uids = document_unique_ids(submit)
    assert read_back(uids["Document01"]) == REPORT
    assert read_back(uids["Document02"]) == OTHER_REPORT
    assert models.DocumentEntry.objects.filter(unique_id__in=uids.values()).count() == 2
    assert len(stored_keys()) == 2


def test_a_hash_and_size_the_source_gave_are_accepted_when_right_whatever_the_case(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    submit = text_submission()
    set_slot(submit, "Document01", "hash", sha1(REPORT).upper())
    set_slot(submit, "Document01", "size", str(len(REPORT)))
    answer = post(client, provide_request(submit, {"Document01": REPORT}), rs_schema)
    assert (answer.get("status"), errors_of(answer)) == (SUCCESS, [])
    [unique_id] = document_unique_ids(submit).values()
    assert Document.objects.get(unique_id=unique_id).sha1 == sha1(REPORT)


@pytest.mark.parametrize(("slot", "wrong"), [("hash", "e543712c0e10501972de13a5bfcbe826c49feb69"),
                                             ("size", "9999")])
def test_a_wrong_hash_or_size_is_refused_and_nothing_is_kept(
        client: httpx.Client, rs_schema: etree.XMLSchema, slot: str, wrong: str) -> None:
    submit = text_submission()
    set_slot(submit, "Document01", slot, wrong)
    answer = post(client, provide_request(submit, {"Document01": REPORT}), rs_schema)
    assert refused(answer, submit) == [(errors.METADATA_ERROR, f"DocumentEntry Document01 {slot}")]


def test_a_document_entry_without_its_document_is_refused(client: httpx.Client,
                                                          rs_schema: etree.XMLSchema) -> None:
    submit = text_submission(documents=2)
    answer = post(client, provide_request(submit, {"Document01": REPORT}), rs_schema)
    assert refused(answer, submit) == [(errors.MISSING_DOCUMENT, "DocumentEntry Document02")]


def test_a_document_no_document_entry_describes_is_refused(client: httpx.Client,
                                                           rs_schema: etree.XMLSchema) -> None:
    submit = text_submission()
    answer = post(client, provide_request(submit, {"Document01": REPORT, "Document09": OTHER_REPORT}),
                  rs_schema)
    assert refused(answer, submit) == [(errors.MISSING_DOCUMENT_METADATA, "Document Document09")]


def test_a_resubmission_of_identical_bytes_is_accepted_and_kept_once(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    first = text_submission()
    [unique_id] = document_unique_ids(first).values()
    assert post(client, provide_request(first, {"Document01": REPORT}), rs_schema).get("status") == SUCCESS
    again = resubmission(unique_id)
    answer = post(client, provide_request(again, {"Document01": REPORT}), rs_schema)
    assert (answer.get("status"), errors_of(answer)) == (SUCCESS, [])
    assert Document.objects.filter(unique_id=unique_id).count() == 1
    assert len(stored_keys()) == 1
    assert read_back(unique_id) == REPORT


def test_a_resubmission_of_other_bytes_under_a_held_unique_id_is_refused(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    first = text_submission()
    [unique_id] = document_unique_ids(first).values()
    assert post(client, provide_request(first, {"Document01": REPORT}), rs_schema).get("status") == SUCCESS
    held = stored_keys()
    again = resubmission(unique_id)
    answer = post(client, provide_request(again, {"Document01": OTHER_REPORT}), rs_schema)
    assert answer.get("status") == FAILURE
    assert [code for code, _ in errors_of(answer)] == [registry_errors.NON_IDENTICAL_HASH]
    assert stored_keys() == held
    assert read_back(unique_id) == REPORT
    assert not models.SubmissionSet.objects.filter(
        unique_id=submissions.unique_ids(again)["submission_set"]).exists()
    assert AuditEvent.objects.filter(transaction="ITI-41", outcome=8).exists()


def resubmission(unique_id: str) -> etree._Element:
    """A new submission set carrying the document with uniqueId `unique_id` again."""
    again = text_submission()
    for identifier in again.iter(submissions.R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == submissions.DOCUMENT_UNIQUE_ID:
            identifier.set("value", unique_id)
    return again


def test_the_registry_s_refusal_is_passed_on_and_no_bytes_are_left(client: httpx.Client,
                                                                   rs_schema: etree.XMLSchema) -> None:
    submit = text_submission(patient_id=f"E9999^^^&{submissions.AFFINITY}&ISO")
    answer = post(client, provide_request(submit, {"Document01": REPORT}), rs_schema)
    assert refused(answer, submit) == [
        (registry_errors.UNKNOWN_PATIENT_ID, "SubmissionSet SubmissionSet01 patientId")]


def test_a_truncated_mtom_stream_stores_nothing_and_the_web_process_goes_on(
        web: Node, client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    submit = text_submission()
    request = provide_request(submit, {"Document01": REPORT * 2000})
    head = (f"POST /xds/repository HTTP/1.1\r\nHost: 127.0.0.1:{web.http_port}\r\n"
            f"Content-Type: {request.content_type}\r\nContent-Length: {len(request.body)}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", web.http_port), timeout=10) as raw:
        raw.sendall(head.encode() + request.body[:len(request.body) // 2])
    # The server notices the closed connection when it reads on; give it the moment it takes.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(web.soap_temp_dir.glob("req-*")):
        time.sleep(0.1)
    assert stored_keys() == []
    assert not Document.objects.exists()
    assert not models.DocumentEntry.objects.exists()
    answer = post(client, provide_request(text_submission(), {"Document01": REPORT}), rs_schema)
    assert answer.get("status") == SUCCESS


def test_an_attachment_over_the_part_limit_gets_a_fault_and_nothing_is_stored(
        web: Node, client: httpx.Client) -> None:
    limit = int(web.env["SOAP_MAX_PART_BYTES"])
    request = provide_request(text_submission(), {"Document01": b"x" * (limit + 1)})
    with contextlib.suppress(httpx.RemoteProtocolError, httpx.WriteError):
        response = client.post("/xds/repository", content=request.body,
                               headers={"Content-Type": request.content_type})
        assert response.status_code == 413
        code = etree.fromstring(response.content).findtext(
            f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value")
        assert code == "env:Sender"
    assert stored_keys() == []
    assert not Document.objects.exists()
    assert not models.DocumentEntry.objects.exists()


def test_a_concurrent_submission_that_stored_the_unique_id_first_refuses_this_one_whole(
        documents_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    submit = text_submission()
    for name, value in (("hash", sha1(REPORT)), ("size", str(len(REPORT))),
                        ("repositoryUniqueId", settings.REPOSITORY_UNIQUE_ID)):
        set_slot(submit, "Document01", name, value)
    [unique_id] = document_unique_ids(submit).values()
    # The other submission commits its row after this one looked for the uniqueId.
    monkeypatch.setattr(repository_services, "_already_stored", lambda submission: {})
    Document.objects.create(unique_id=unique_id, key="00/00/other", size=len(REPORT), sha1=sha1(REPORT),
                            mime_type="text/plain", patient_id=CHIP_MOORE)
    content = repository_services.Content(open=lambda: io.BytesIO(REPORT), size=len(REPORT),
                                          sha1=sha1(REPORT))
    with pytest.raises(RegistryErrors) as refused:
        repository_services.document_set_provide(
            submission=read_submission(submit), contents={"Document01": content}, source="hospital A")
    assert [e.code for e in refused.value.errors] == [errors.REPOSITORY_ERROR]
    assert stored_keys() == []
    assert not models.DocumentEntry.objects.filter(unique_id=unique_id).exists()


def test_documents_named_by_urn_uuid_ids_are_paired_with_their_entries(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    submit = text_submission(documents=2)
    text = etree.tostring(submit, encoding="unicode")
    ids = {f"Document0{n}": f"urn:uuid:{uuid.uuid4()}" for n in (1, 2)}
    for symbolic, entry_uuid in ids.items():
        text = text.replace(f'"{symbolic}"', f'"{entry_uuid}"')
    submit = etree.fromstring(text)
    documents = {ids["Document01"]: REPORT, ids["Document02"]: OTHER_REPORT}
    answer = post(client, provide_request(submit, documents), rs_schema)
    assert (answer.get("status"), errors_of(answer)) == (SUCCESS, [])
    entries = dict(models.DocumentEntry.objects.values_list("entry_uuid", "hash"))
    assert entries == {ids["Document01"]: sha1(REPORT), ids["Document02"]: sha1(OTHER_REPORT)}


def test_a_document_labelled_a_kos_manifest_that_is_not_one_is_refused_as_rad_68(
        client: httpx.Client, rs_schema: etree.XMLSchema) -> None:
    submit = submissions.kos_submission()
    for slot in ("hash", "size"):
        submissions.remove(submit, slot)
    answer = post(client, provide_request(submit, {"Document01": REPORT}), rs_schema)
    assert answer.get("status") == FAILURE
    assert errors_of(answer) == [(errors.METADATA_ERROR, "DocumentEntry Document01 mimeType")]
    assert stored_keys() == [] and not Document.objects.exists()
    assert AuditEvent.objects.filter(transaction="RAD-68", outcome=8).exists()
