"""ITI-66 Find Document Lists: Jane Doe's submission sets and folders as MHD Lists (MHD 4.2
ITI TF-2 3.66, ITI TF-3 4.5.2)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from registry import services
from registry.models import DEPRECATED, SubmissionSet
from tests.fhir.conftest import FhirTestClient
from tests.registry.factories import JANE, JOHN, LOINC, a_document, a_folder, a_submission, a_submission_set
from tests.registry.submissions import CHIP_MOORE, kos_submission
from tests.repository.provide import envelope

pytestmark = pytest.mark.django_db

JANE_TOKEN = "urn:oid:1.3.6.1.4.1.21367.2005.3.7|E100"
LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
SOURCE_ID = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"
DESIGNATION_TYPE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType"


def rid(entry: Any) -> str:
    return str(entry.entry_uuid).removeprefix("urn:uuid:")


def lists(fhir: FhirTestClient, params: dict[str, str] | list[tuple[str, str]] | None = None) -> list[str]:
    pairs = list(params.items()) if isinstance(params, dict) else list(params or [])
    answer = fhir.get("/fhir/List", [("patient.identifier", JANE_TOKEN), *pairs])
    assert answer.status_code == 200, answer.content
    return sorted(e["resource"]["id"] for e in answer.json().get("entry", []))


def registered_over_soap() -> SubmissionSet:
    """Hospital A's KOS submission for Chip Moore, registered through the registry's endpoint."""
    services.patient_identity_register(patient_id=CHIP_MOORE)
    body = envelope(kos_submission(), action="urn:ihe:iti:2007:RegisterDocumentSet-b",
                    to="http://localhost/xds/registry")
    answer = Client().post("/xds/registry", body, content_type="application/soap+xml; charset=utf-8")
    assert b"ResponseStatusType:Success" in answer.content, answer.content
    return SubmissionSet.objects.get(patient_id=CHIP_MOORE)


def test_a_submission_set_is_a_list_of_its_documents(fhir: FhirTestClient) -> None:
    ct, mr = a_document(), a_document()
    submission_set, _ = a_submission(ct, mr)
    params = {"patient.identifier": JANE_TOKEN, "code": "submissionset"}
    [entry] = fhir.get("/fhir/List", params).json()["entry"]
    resource = entry["resource"]
    assert resource["id"] == rid(submission_set)
    assert resource["code"] == {"coding": [{"system": LIST_TYPES, "code": "submissionset"}]}
    assert (resource["status"], resource["mode"]) == ("current", "working")
    assert resource["date"] == "2024-01-15T11:00:00Z"
    assert resource["identifier"] == [
        {"use": "official", "system": "urn:ietf:rfc:3986", "value": f"urn:oid:{submission_set.unique_id}"},
        {"use": "usual", "system": "urn:ietf:rfc:3986", "value": submission_set.entry_uuid}]
    assert resource["subject"]["identifier"]["value"] == "E100"
    assert [e["item"]["reference"] for e in resource["entry"]] == [
        f"DocumentReference/{rid(ct)}", f"DocumentReference/{rid(mr)}"]


def test_a_folder_is_a_list_of_its_documents_and_a_submission_set_lists_the_folder(
        fhir: FhirTestClient) -> None:
    ct, folder = a_document(), a_folder()
    submission_set, _ = a_submission(ct, folder=folder)
    answer = fhir.get("/fhir/List", {"patient.identifier": JANE_TOKEN}).json()
    by_id = {e["resource"]["id"]: e["resource"] for e in answer["entry"]}
    assert answer["total"] == 2
    filed = by_id[rid(folder)]
    assert filed["code"]["coding"][0]["code"] == "folder"
    assert [e["item"]["reference"] for e in filed["entry"]] == [f"DocumentReference/{rid(ct)}"]
    assert filed["extension"][0]["url"] == DESIGNATION_TYPE
    assert [e["item"]["reference"] for e in by_id[rid(submission_set)]["entry"]] == [
        f"DocumentReference/{rid(ct)}", f"List/{rid(folder)}"]


def test_a_submission_set_registered_over_soap_carries_source_designation_and_author(
        fhir: FhirTestClient) -> None:
    submission_set = registered_over_soap()
    answer = fhir.get("/fhir/List", {"patient.identifier": "urn:oid:1.3.6.1.4.1.21367.2005.3.7|E1001"})
    [entry] = answer.json()["entry"]
    resource = entry["resource"]
    extensions = {e["url"]: e for e in resource["extension"]}
    assert extensions[SOURCE_ID]["valueIdentifier"]["value"] == f"urn:oid:{submission_set.source_id}"
    assert extensions[DESIGNATION_TYPE]["valueCodeableConcept"]["coding"][0]["code"] == (
        submission_set.content_type_code)
    assert resource["source"] == {"reference": "#a1"}
    assert resource["contained"][0]["name"][0]["family"] == "House"
    assert len(resource["entry"]) == 1


def test_code_chooses_submission_sets_or_folders(fhir: FhirTestClient) -> None:
    submission_set, folder = a_submission_set(), a_folder()
    assert lists(fhir, {"code": "submissionset"}) == [rid(submission_set)]
    assert lists(fhir, {"code": f"{LIST_TYPES}|folder"}) == [rid(folder)]
    assert lists(fhir) == sorted([rid(submission_set), rid(folder)])


def test_a_search_without_a_patient_is_400(fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/List", {"code": "folder"}).status_code == 400


def test_another_patient_s_lists_are_not_found(fhir: FhirTestClient) -> None:
    a_submission_set(patient=JOHN)
    a_folder(patient=JOHN)
    assert lists(fhir) == []


def test_date_compares_with_submission_time_and_last_update_time(fhir: FhirTestClient) -> None:
    january = a_submission_set(submission_time="20240115110000")
    march = a_folder(last_update_time="20240315110000")
    assert lists(fhir, {"date": "2024-01"}) == [rid(january)]
    assert lists(fhir, {"date": "ge2024-02-01"}) == [rid(march)]
    both = sorted([rid(january), rid(march)])
    assert lists(fhir, [("date", "ge2024-01-01"), ("date", "lt2025-01-01")]) == both


def test_designation_type_matches_content_type_and_folder_codes(fhir: FhirTestClient) -> None:
    report = a_submission_set(content_type=("11488-4", LOINC))
    a_submission_set()
    ct_folder = a_folder(codes=(("CT", "1.2.840.10008.2.16.4"),))
    assert lists(fhir, {"designationType": f"urn:oid:{LOINC}|11488-4"}) == [rid(report)]
    assert lists(fhir, {"designationType": "CT"}) == [rid(ct_folder)]


def test_source_id_and_source_names_find_submission_sets_only(fhir: FhirTestClient) -> None:
    ours = a_submission_set(source_id="1.2.3.9")
    a_submission_set(authors=("^Welby^Marcus^^^",))
    a_folder()
    assert lists(fhir, {"sourceId": "urn:oid:1.2.3.9"}) == [rid(ours)]
    assert len(lists(fhir, {"source.family": "Welby"})) == 1
    assert lists(fhir, {"source.given": "Gerald", "sourceId": "urn:oid:1.2.3.9"}) == [rid(ours)]


def test_status_identifier_and_id_narrow_the_lists(fhir: FhirTestClient) -> None:
    current, retired = a_submission_set(), a_submission_set(status=DEPRECATED)
    folder = a_folder()
    assert lists(fhir, {"status": "current", "code": "submissionset"}) == [rid(current)]
    assert lists(fhir, {"status": "retired"}) == [rid(retired)]
    assert lists(fhir, {"identifier": f"urn:oid:{folder.unique_id}"}) == [rid(folder)]
    assert lists(fhir, {"identifier": current.entry_uuid}) == [rid(current)]
    assert lists(fhir, {"_id": rid(retired)}) == [rid(retired)]


def test_pages_run_through_submission_sets_then_folders(fhir: FhirTestClient) -> None:
    made = {rid(a_submission_set()) for _ in range(3)} | {rid(a_folder()) for _ in range(3)}
    seen: list[str] = []
    url: str | None = f"/fhir/List?patient.identifier={JANE_TOKEN}&_count=4"
    while url:
        bundle = fhir.get(url).json()
        assert bundle["total"] == 6
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        url = next((link["url"].removeprefix("http://testserver") for link in bundle["link"]
                    if link["relation"] == "next"), None)
    assert sorted(seen) == sorted(made)


def test_a_read_answers_the_list_and_is_audited(fhir: FhirTestClient) -> None:
    folder = a_folder()
    answer = fhir.get(f"/fhir/List/{rid(folder)}")
    assert (answer.status_code, answer.json()["code"]["coding"][0]["code"]) == (200, "folder")
    assert JANE in AuditEvent.objects.get(transaction="ITI-66", outcome=0).patient_ids


def test_an_unknown_list_is_404(fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/List/00000000-0000-0000-0000-000000000000").status_code == 404
