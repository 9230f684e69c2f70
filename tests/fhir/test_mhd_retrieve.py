"""ITI-68 Retrieve Document: the bytes hospital A provided over ITI-41, found over ITI-67 and
fetched over FHIR byte for byte (MHD 4.2 ITI TF-2 3.68)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from registry import services
from repository import store
from repository.models import Document
from tests.fhir.conftest import FhirTestClient
from tests.registry.submissions import CHIP_MOORE
from tests.repository.provide import document_unique_ids, extrinsic, provide_request, text_submission

pytestmark = pytest.mark.django_db

REPORT = b"CT chest: no acute findings.\n"
CHIP_TOKEN = "urn:oid:1.3.6.1.4.1.21367.2005.3.7|E1001"


@pytest.fixture
def documents(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """The repository's store in a folder of this test's own."""
    settings.DOCUMENT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                 "OPTIONS": {"location": str(tmp_path)}}
    store.document_storage.cache_clear()
    yield tmp_path
    store.document_storage.cache_clear()


def provide(documents: dict[str, bytes], *, mime_types: dict[str, str] | None = None) -> dict[str, str]:
    """Hospital A's ITI-41 of `documents` (symbolic id -> bytes) for Chip Moore, through the
    repository's SOAP endpoint; their uniqueIds by symbolic id."""
    services.patient_identity_register(patient_id=CHIP_MOORE)
    submit = text_submission(documents=len(documents))
    for symbolic_id, mime_type in (mime_types or {}).items():
        extrinsic(submit, symbolic_id).set("mimeType", mime_type)
    request = provide_request(submit, documents)
    answer = Client().post("/xds/repository", request.body, content_type=request.content_type)
    body = streamed(answer) if answer.streaming else answer.content
    assert answer.status_code == 200
    assert b"ResponseStatusType:Success" in body, body
    return document_unique_ids(submit)


def streamed(answer: Any) -> bytes:
    return b"".join(answer.streaming_content)


def test_a_document_provided_over_soap_is_found_and_retrieved_over_fhir(
        fhir: FhirTestClient, documents: Path) -> None:
    [unique_id] = provide({"Document01": REPORT}).values()
    bundle = fhir.get("/fhir/DocumentReference", {"patient.identifier": CHIP_TOKEN}).json()
    [entry] = bundle["entry"]
    attachment = entry["resource"]["content"][0]["attachment"]
    assert attachment["url"] == f"http://testserver/fhir/Binary/{unique_id}"
    assert attachment["size"] == len(REPORT)
    assert base64.b64decode(attachment["hash"]) == hashlib.sha1(REPORT, usedforsecurity=False).digest()
    answer = fhir.get(attachment["url"].removeprefix("http://testserver"))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain"
    assert answer["Content-Length"] == str(len(REPORT))
    assert streamed(answer) == REPORT


def test_a_document_reference_of_a_real_submission_carries_its_authors_and_source_patient(
        fhir: FhirTestClient, documents: Path) -> None:
    provide({"Document01": REPORT})
    [entry] = fhir.get("/fhir/DocumentReference", {"patient.identifier": CHIP_TOKEN}).json()["entry"]
    resource = entry["resource"]
    contained = {c["id"]: c for c in resource["contained"]}
    authors = [contained[a["reference"].lstrip("#")] for a in resource["author"]]
    assert [a["resourceType"] for a in authors] == ["Practitioner", "Organization"]
    assert authors[0]["name"] == [{"family": "House", "given": ["Gregory"], "prefix": ["Dr"]}]
    assert authors[1]["name"] == "Hospital A"
    source = contained[resource["context"]["sourcePatientInfo"]["reference"].lstrip("#")]
    assert source["identifier"] == [{"system": "urn:oid:1.3.6.1.4.1.21367.13.20.1000", "value": "A123"}]
    assert source["name"] == [{"family": "Moore", "given": ["Chip"]}]
    assert resource["context"]["facilityType"]["coding"][0]["code"]
    assert resource["context"]["practiceSetting"]["coding"][0]["code"]


def test_binary_bytes_of_every_value_arrive_unchanged(fhir: FhirTestClient, documents: Path) -> None:
    data = bytes(range(256)) * 300
    [unique_id] = provide({"Document01": data},
                          mime_types={"Document01": "application/octet-stream"}).values()
    answer = fhir.get(f"/fhir/Binary/{unique_id}", HTTP_ACCEPT="*/*")
    assert answer["Content-Type"] == "application/octet-stream"
    assert streamed(answer) == data


def test_a_client_accepting_only_fhir_json_gets_a_binary_resource(fhir: FhirTestClient,
                                                                  documents: Path) -> None:
    [unique_id] = provide({"Document01": REPORT}).values()
    answer = fhir.get(f"/fhir/Binary/{unique_id}", HTTP_ACCEPT="application/fhir+json")
    binary = answer.json()
    assert (binary["resourceType"], binary["id"]) == ("Binary", unique_id)
    assert binary["contentType"] == "text/plain"
    assert base64.b64decode(binary["data"]) == REPORT


def test_a_retrieve_is_audited_as_an_export_of_the_document(fhir: FhirTestClient, documents: Path) -> None:
    [unique_id] = provide({"Document01": REPORT}).values()
    streamed(fhir.get(f"/fhir/Binary/{unique_id}"))
    event = AuditEvent.objects.get(transaction="ITI-68", outcome=0)
    assert CHIP_MOORE in event.patient_ids


def test_an_unknown_unique_id_is_404_and_audited(fhir: FhirTestClient, documents: Path) -> None:
    answer = fhir.get("/fhir/Binary/1.2.3.4.5.404")
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["code"] == "not-found"
    assert AuditEvent.objects.filter(transaction="ITI-68", outcome=4).exists()


def test_a_document_whose_bytes_were_lost_is_a_500_not_a_cut_stream(fhir: FhirTestClient,
                                                                      documents: Path) -> None:
    [unique_id] = provide({"Document01": REPORT}).values()
    store.store_delete(Document.objects.get(unique_id=unique_id).key)
    answer = fhir.get(f"/fhir/Binary/{unique_id}")
    assert answer.status_code == 500
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_retrieving_needs_the_binary_read_scope(fhir_client_factory: Any, documents: Path) -> None:
    [unique_id] = provide({"Document01": REPORT}).values()
    reader = fhir_client_factory(scopes=("system/DocumentReference.read",))
    assert reader.get(f"/fhir/Binary/{unique_id}").status_code == 403
