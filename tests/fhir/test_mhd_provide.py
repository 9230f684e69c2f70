"""ITI-65 Provide Document Bundle: hospital A's MHD Document Source publishes over FHIR, and the
documents take ITI-41's path into the repository and registry, all or nothing."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydicom.uid import generate_uid

from audit.models import AuditEvent
from empi.models import Person
from imaging.models import ManifestStudy
from registry import models, services
from registry.ebrim.namespaces import RIM
from repository import store
from repository.handlers.iti43 import retrieve_document_set
from repository.models import Document
from soap.messages import Addressing, SoapRequest
from tests.fhir.conftest import FhirTestClient
from tests.imaging.kos_factory import kos_build
from tests.registry.factories import ask, ids_in, status_of, stored_query
from tests.registry.submissions import AFFINITY, CHIP_MOORE, HOSPITAL_A_ROOT, fresh_oid
from tests.repository.provide import document_requests

pytestmark = pytest.mark.django_db
REPORT = b"CT chest: no acute findings.\n"
LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
DESIGNATION_TYPE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType"
LOINC = "urn:oid:2.16.840.1.113883.6.1"
CHIP = {"system": f"urn:oid:{AFFINITY}", "value": "E1001"}


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


@pytest.fixture(autouse=True)
def document_store(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """An empty document store and temporary folder of this test's own."""
    settings.DOCUMENT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                 "OPTIONS": {"location": str(tmp_path / "documents")}}
    settings.SOAP_TEMP_DIR = tmp_path / "tmp"
    store.document_storage.cache_clear()
    yield tmp_path
    store.document_storage.cache_clear()


def coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def document_reference(number: int, data: bytes, *, subject: dict[str, Any] | None = None,
                       content_type: str = "text/plain", **attachment: Any) -> dict[str, Any]:
    """A report as hospital A's Document Source describes it (MHD Comprehensive Metadata)."""
    return {
        "resourceType": "DocumentReference",
        "contained": [{"resourceType": "Patient", "id": "p1",
                       "identifier": [{"system": f"urn:oid:{HOSPITAL_A_ROOT}", "value": "A123"}],
                       "name": [{"family": "Moore", "given": ["Chip"]}], "gender": "male"},
                      {"resourceType": "Practitioner", "id": "a1",
                       "name": [{"family": "House", "given": ["Gregory"], "prefix": ["Dr"]}]},
                      {"resourceType": "Organization", "id": "a2", "name": "Hospital A",
                       "identifier": [{"system": f"urn:oid:{HOSPITAL_A_ROOT}", "value": "A"}]}],
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{fresh_oid()}"},
        "status": "current",
        "type": coding(LOINC, "18748-4", "Diagnostic imaging study"),
        "category": [coding("urn:oid:1.3.6.1.4.1.19376.1.2.6.1", "REPORTS", "Reports")],
        "subject": subject or {"identifier": CHIP},
        "date": "2024-03-12T10:15:00+01:00",
        "author": [{"reference": "#a1"}, {"reference": "#a2"}],
        "description": "Read by the radiologist",
        "securityLabel": [coding("urn:oid:2.16.840.1.113883.5.25", "N", "Normal")],
        "content": [{"attachment": {"contentType": content_type, "language": "en-US",
                                    "url": f"urn:uuid:binary-{number}", "title": f"Report {number}",
                                    **attachment},
                     "format": {"system": "urn:oid:1.3.6.1.4.1.19376.1.2.3", "code": "urn:ihe:rad:TEXT"}}],
        "context": {"period": {"start": "2024-03-12T09:30:00Z"},
                    "facilityType": coding("urn:oid:2.16.840.1.113883.6.96", "22232009", "Hospital"),
                    "practiceSetting": coding("urn:oid:2.16.840.1.113883.6.96", "394914008", "Radiology"),
                    "sourcePatientInfo": {"reference": "#p1"}},
    }


def submission_set(items: list[str], *, subject: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resourceType": "List",
        "extension": [
            {"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
             "valueIdentifier": {"value": f"urn:oid:{HOSPITAL_A_ROOT}"}},
            {"url": DESIGNATION_TYPE,
             "valueCodeableConcept": coding(LOINC, "18748-4", "Diagnostic imaging study")}],
        "identifier": [{"use": "official", "system": "urn:ietf:rfc:3986", "value": f"urn:oid:{fresh_oid()}"}],
        "status": "current", "mode": "working", "title": "CT chest of Chip Moore",
        "code": coding(LIST_TYPES, "submissionset"),
        "subject": subject or {"identifier": CHIP},
        "date": "2024-03-12T10:16:00Z",
        "entry": [{"item": {"reference": item}} for item in items],
    }


def provide_bundle(*documents: bytes, subject: dict[str, Any] | None = None,
                   **attachment: Any) -> dict[str, Any]:
    """A transaction Bundle: the SubmissionSet List, then each document's DocumentReference and Binary."""
    entries: list[dict[str, Any]] = [{"fullUrl": "urn:uuid:submission-set", "resource": submission_set(
        [f"urn:uuid:document-{n}" for n in range(1, len(documents) + 1)], subject=subject)}]
    for number, data in enumerate(documents, start=1):
        entries.append({"fullUrl": f"urn:uuid:document-{number}",
                        "resource": document_reference(number, data, subject=subject, **attachment)})
        entries.append({"fullUrl": f"urn:uuid:binary-{number}", "resource": {
            "resourceType": "Binary", "contentType": "text/plain", "data": base64.b64encode(data).decode()}})
    for entry in entries:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def counts() -> tuple[int, ...]:
    return (models.DocumentEntry.objects.count(), models.SubmissionSet.objects.count(),
            models.Association.objects.count(), Document.objects.count())


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def unique_id_of(resource: dict[str, Any]) -> str:
    return str(resource["masterIdentifier"]["value"]).removeprefix("urn:oid:")


def retrieved(unique_id: str) -> bytes:
    """The document's bytes as ITI-43 answers them to hospital B's consumer."""
    from django.conf import settings

    body = document_requests("{urn:ihe:iti:xds-b:2007}RetrieveDocumentSetRequest",
                             [(settings.REPOSITORY_UNIQUE_ID, unique_id)])
    answer = retrieve_document_set(SoapRequest(
        endpoint="repository", addressing=Addressing(
            action="urn:ihe:iti:2007:RetrieveDocumentSet", message_id=f"urn:uuid:{uuid.uuid4()}",
            reply_to="http://www.w3.org/2005/08/addressing/anonymous", to="http://node/xds/repository"),
        body=body, attachments={}, folder=Path("/nonexistent"), remote_addr="10.2.0.10", mtom=True))
    assert len(answer.attachments) == 1
    with answer.attachments[0].open() as stream:
        return stream.read()


def test_a_minimal_bundle_is_stored_registered_and_answered_one_created_entry_each(
        fhir: FhirTestClient, document_store: Path) -> None:
    bundle = provide_bundle(REPORT)

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 200, answer.content
    reply = answer.json()
    assert reply["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in reply["entry"]]
    assert statuses == ["201 Created"] * 3
    locations = [e["response"]["location"] for e in reply["entry"]]
    unique_id = unique_id_of(bundle["entry"][1]["resource"])
    assert locations[0].startswith("http://testserver/fhir/List/")
    assert locations[2] == f"http://testserver/fhir/Binary/{unique_id}"
    entry = models.DocumentEntry.objects.get(unique_id=unique_id)
    assert locations[1] == f"http://testserver/fhir/DocumentReference/{entry.entry_uuid.removeprefix('urn:uuid:')}"
    package = models.SubmissionSet.objects.get()
    assert locations[0].endswith(package.entry_uuid.removeprefix("urn:uuid:"))
    assert (package.source_id, package.patient_id, package.submission_time) == (
        HOSPITAL_A_ROOT, CHIP_MOORE, "20240312101600")
    assert (entry.patient_id, entry.source_patient_id) == (CHIP_MOORE, f"A123^^^&{HOSPITAL_A_ROOT}&ISO")
    # MHD 4.2 ITI TF-3 4.5.1: dateTime in UTC as DTM, the hash in hex, the OID schemes bare.
    assert (entry.creation_time, entry.service_start_time) == ("20240312091500", "20240312093000")
    assert (entry.class_code, entry.class_scheme) == ("REPORTS", "1.3.6.1.4.1.19376.1.2.6.1")
    assert (entry.type_code, entry.type_scheme) == ("18748-4", "2.16.840.1.113883.6.1")
    assert (entry.mime_type, entry.title, entry.size) == ("text/plain", "Report 1", len(REPORT))
    assert entry.hash == hashlib.sha1(REPORT, usedforsecurity=False).hexdigest()
    assert "^House^Gregory^^^Dr" in entry.ebrim and "Hospital A^^^^^^^^^" in entry.ebrim
    assert Document.objects.get(unique_id=unique_id).size == len(REPORT)
    assert AuditEvent.objects.filter(transaction="ITI-65", outcome=0).count() == 1
    assert stored_files(document_store / "tmp") == []


def test_a_document_provided_over_fhir_is_found_by_iti18_and_retrieved_by_iti43(fhir: FhirTestClient) -> None:
    bundle = provide_bundle(REPORT)
    assert fhir.post("/fhir", bundle).status_code == 200
    unique_id = unique_id_of(bundle["entry"][1]["resource"])

    found = ask(stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": f"'{CHIP_MOORE}'",
        "$XDSDocumentEntryStatus": "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"}))

    assert status_of(found) == "Success"
    assert ids_in(found) == [models.DocumentEntry.objects.get(unique_id=unique_id).entry_uuid]
    assert retrieved(unique_id) == REPORT


def test_a_hash_that_does_not_match_the_binary_is_422_and_nothing_is_stored_but_the_refusal_is_audited(
        fhir: FhirTestClient, document_store: Path) -> None:
    before = counts()
    wrong = base64.b64encode(hashlib.sha1(b"another report", usedforsecurity=False).digest()).decode()

    answer = fhir.post("/fhir", provide_bundle(REPORT, hash=wrong))

    assert answer.status_code == 422
    issues = answer.json()["issue"]
    assert [i["details"]["text"] for i in issues] == ["XDSRepositoryMetadataError"]
    assert issues[0]["code"] == "invalid" and "hash" in issues[0]["diagnostics"]
    assert counts() == before
    assert stored_files(document_store) == []
    refusals = AuditEvent.objects.filter(transaction="ITI-65").exclude(outcome=0)
    assert refusals.count() == 1


def test_a_size_that_does_not_match_the_binary_is_422(fhir: FhirTestClient) -> None:
    answer = fhir.post("/fhir", provide_bundle(REPORT, size=len(REPORT) + 1))

    assert answer.status_code == 422
    assert answer.json()["issue"][0]["details"]["coding"] == [{"code": "XDSRepositoryMetadataError"}]


@pytest.mark.parametrize("where", ["list item", "attachment url"])
def test_a_reference_that_resolves_to_no_entry_is_400_and_nothing_is_stored(
        fhir: FhirTestClient, document_store: Path, where: str) -> None:
    bundle = provide_bundle(REPORT)
    if where == "list item":
        bundle["entry"][0]["resource"]["entry"][0]["item"]["reference"] = "urn:uuid:nowhere"
    else:
        bundle["entry"][1]["resource"]["content"][0]["attachment"]["url"] = "urn:uuid:nowhere"
    before = counts()

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 400
    issue = answer.json()["issue"][0]
    assert issue["code"] == "invalid" and "urn:uuid:nowhere" in issue["diagnostics"]
    assert counts() == before
    assert stored_files(document_store) == []
    assert AuditEvent.objects.filter(transaction="ITI-65", outcome=4).count() == 1


def test_an_unknown_patient_is_422_xds_unknown_patient_id(fhir: FhirTestClient) -> None:
    stranger = {"identifier": {"system": f"urn:oid:{AFFINITY}", "value": "E999"}}

    answer = fhir.post("/fhir", provide_bundle(REPORT, subject=stranger))

    assert answer.status_code == 422
    issue = answer.json()["issue"][0]
    assert issue["code"] == "business-rule"
    assert issue["details"] == {"coding": [{"code": "XDSUnknownPatientId"}], "text": "XDSUnknownPatientId"}
    assert not models.DocumentEntry.objects.exists()
    assert AuditEvent.objects.filter(transaction="ITI-65", outcome=8).count() == 1


def test_a_subject_referencing_a_patient_of_this_server_is_registered_under_its_enterprise_id(
        fhir: FhirTestClient) -> None:
    person = Person.objects.create(enterprise_id=CHIP_MOORE)

    answer = fhir.post("/fhir", provide_bundle(REPORT, subject={"reference": f"Patient/{person.pk}"}))

    assert answer.status_code == 200, answer.content
    assert models.DocumentEntry.objects.get().patient_id == CHIP_MOORE


def test_a_reference_to_a_patient_this_server_does_not_know_is_422(fhir: FhirTestClient) -> None:
    answer = fhir.post("/fhir", provide_bundle(REPORT, subject={"reference": "Patient/987654"}))

    assert answer.status_code == 422
    assert answer.json()["issue"][0]["details"]["text"] == "XDSUnknownPatientId"


@pytest.mark.parametrize("change, words", [
    ({"type": "batch"}, "transaction"),
    ({"resourceType": "Parameters"}, "Bundle"),
    ({"entry": []}, "no entry"),
])
def test_a_bundle_that_is_not_a_transaction_is_400(fhir: FhirTestClient, change: dict[str, Any],
                                                     words: str) -> None:
    bundle = {**provide_bundle(REPORT), **change}

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 400
    assert words in answer.json()["issue"][0]["diagnostics"]
    assert not models.DocumentEntry.objects.exists()


def test_an_entry_without_full_url_is_400(fhir: FhirTestClient) -> None:
    bundle = provide_bundle(REPORT)
    del bundle["entry"][2]["fullUrl"]

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 400
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[2].fullUrl"]


def test_a_bundle_without_a_submission_set_is_400(fhir: FhirTestClient) -> None:
    bundle = provide_bundle(REPORT)
    bundle["entry"][0]["resource"]["code"] = coding(LIST_TYPES, "folder")
    bundle["entry"][0]["resource"]["entry"] = []

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 400
    assert "SubmissionSet" in answer.json()["issue"][0]["diagnostics"]


def test_a_resource_fhir_cannot_read_is_400_naming_its_entry(fhir: FhirTestClient) -> None:
    bundle = provide_bundle(REPORT)
    bundle["entry"][1]["resource"]["content"][0]["attachment"]["size"] = "large"

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 400
    assert answer.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource"]


def test_two_documents_in_one_bundle_are_both_stored_and_members_of_the_submission_set(
        fhir: FhirTestClient) -> None:
    other = b"CT chest: a 4 mm nodule in the right upper lobe.\n"
    bundle = provide_bundle(REPORT, other)

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 200, answer.content
    assert len(answer.json()["entry"]) == 5
    package = models.SubmissionSet.objects.get()
    members = models.Association.objects.filter(source_uuid=package.entry_uuid,
                                                submission_set_status="Original")
    assert set(members.values_list("target_uuid", flat=True)) == set(
        models.DocumentEntry.objects.values_list("entry_uuid", flat=True))
    assert retrieved(unique_id_of(bundle["entry"][3]["resource"])) == other


def test_a_folder_list_in_the_bundle_is_registered_holding_its_document(fhir: FhirTestClient) -> None:
    bundle = provide_bundle(REPORT)
    folder = {**submission_set(["urn:uuid:document-1"]), "title": "Referrals",
              "code": coding(LIST_TYPES, "folder"),
              "extension": [{"url": DESIGNATION_TYPE, "valueCodeableConcept": coding(
                  "urn:oid:1.3.6.1.4.1.21367.2017.3", "Referrals")}]}
    bundle["entry"].append({"fullUrl": "urn:uuid:folder", "resource": folder})
    bundle["entry"][0]["resource"]["entry"].append({"item": {"reference": "urn:uuid:folder"}})

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 200, answer.content
    registered = models.Folder.objects.get()
    assert answer.json()["entry"][3]["response"]["location"].endswith(
        registered.entry_uuid.removeprefix("urn:uuid:"))
    document = models.DocumentEntry.objects.get()
    assert models.Association.objects.filter(source_uuid=registered.entry_uuid,
                                             target_uuid=document.entry_uuid).exists()


def test_a_kos_manifest_sent_over_fhir_is_indexed_for_xds_i(fhir: FhirTestClient) -> None:
    study = generate_uid()
    manifest = kos_build(patient_id="A123", issuer=HOSPITAL_A_ROOT, studies=[
        (study, "ACC-778", [(generate_uid(), "CT", "HOSPA_PACS", "", [(CT_IMAGE, generate_uid())])])])
    bundle = provide_bundle(manifest, content_type="application/dicom")
    document = bundle["entry"][1]["resource"]
    document["category"] = [coding("urn:oid:1.3.6.1.4.1.19376.1.2.6.1", "IMAGES", "Images")]
    document["content"][0]["format"] = {"system": "urn:oid:1.2.840.10008.2.6.1",
                                        "code": "1.2.840.10008.5.1.4.1.1.88.59"}
    document["context"]["event"] = [coding("urn:oid:1.2.840.10008.2.16.4", "CT", "Computed Tomography")]
    document["context"]["related"] = [{"identifier": {
        "type": coding("urn:ietf:rfc:3986", "urn:ihe:iti:xds:2016:studyInstanceUID"),
        "system": "urn:dicom:uid", "value": f"urn:oid:{study}"}}]
    bundle["entry"][2]["resource"]["contentType"] = "application/dicom"

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 200, answer.content
    entry = models.DocumentEntry.objects.get()
    indexed = ManifestStudy.objects.get(study_instance_uid=study)
    assert (indexed.document_entry_uuid, indexed.patient_id) == (entry.entry_uuid, CHIP_MOORE)
    assert AuditEvent.objects.filter(transaction="ITI-65", outcome=0).count() == 1


def test_a_kos_manifest_that_disagrees_with_its_metadata_is_422_and_not_indexed(fhir: FhirTestClient) -> None:
    series = [(generate_uid(), "CT", "HOSPA_PACS", "", [(CT_IMAGE, generate_uid())])]
    manifest = kos_build(patient_id="A123", issuer=HOSPITAL_A_ROOT,
                         studies=[(generate_uid(), "ACC-778", series)])
    bundle = provide_bundle(manifest, content_type="application/dicom")  # no event code, TEXT format

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 422
    assert {i["details"]["text"] for i in answer.json()["issue"]} == {"XDSRepositoryMetadataError"}
    assert not ManifestStudy.objects.exists()
    assert not models.DocumentEntry.objects.exists()


def test_the_stored_ebrim_carries_the_submitted_slots_in_schema_order(fhir: FhirTestClient) -> None:
    assert fhir.post("/fhir", provide_bundle(REPORT)).status_code == 200

    stored = etree.fromstring(models.DocumentEntry.objects.get().ebrim)

    tags = [etree.QName(child).localname for child in stored]
    order = ["Slot", "Name", "Description", "VersionInfo", "Classification", "ExternalIdentifier"]
    assert tags == sorted(tags, key=order.index)
    slots = {s.get("name") for s in stored.iterfind(f"{{{RIM}}}Slot")}
    assert {"creationTime", "languageCode", "sourcePatientId", "sourcePatientInfo", "hash", "size",
            "repositoryUniqueId", "serviceStartTime"} <= slots


def test_a_document_that_replaces_another_deprecates_it(fhir: FhirTestClient) -> None:
    first = fhir.post("/fhir", provide_bundle(REPORT)).json()
    original = first["entry"][1]["response"]["location"].rsplit("/", 1)[-1]
    bundle = provide_bundle(b"CT chest: addendum, no acute findings.\n")
    bundle["entry"][1]["resource"]["relatesTo"] = [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{original}"}}]

    answer = fhir.post("/fhir", bundle)

    assert answer.status_code == 200, answer.content
    replaced = models.DocumentEntry.objects.get(entry_uuid=f"urn:uuid:{original}")
    assert replaced.status.endswith("Deprecated")
    assert models.Association.objects.filter(association_type__endswith="RPLC",
                                             target_uuid=replaced.entry_uuid).count() == 1


def test_an_entry_uuid_the_source_chose_is_kept_as_the_document_reference_id(fhir: FhirTestClient) -> None:
    chosen = str(uuid.uuid4())
    bundle = provide_bundle(REPORT)
    bundle["entry"][1]["resource"]["identifier"] = [
        {"use": "official", "system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{chosen}"}]

    answer = fhir.post("/fhir", bundle)

    assert answer.json()["entry"][1]["response"]["location"].endswith(f"/DocumentReference/{chosen}")
    assert models.DocumentEntry.objects.filter(entry_uuid=f"urn:uuid:{chosen}").exists()


def test_hospital_b_providing_under_hospital_a_s_mrn_is_403_an_alert_and_nothing_stored(
        fhir_client_factory: Any, document_store: Path) -> None:
    """The OAuth client's organisation submits under its own patient IDs only (ITI TF-3
    4.2.3.2.23 sourcePatientId): hospital B naming hospital A's MRN would file the report as A's."""
    from organisations.models import AssigningAuthority, Organisation

    hospital_a = Organisation.objects.create(code="hosp-a", name="Hospital A")
    AssigningAuthority.objects.create(organisation=hospital_a, namespace_id="HOSPA",
                                      universal_id=HOSPITAL_A_ROOT, universal_id_type="ISO")
    hospital_b = fhir_client_factory(code="hosp-b")
    AssigningAuthority.objects.create(organisation=Organisation.objects.get(code="hosp-b"),
                                      namespace_id="HOSPB", universal_id="1.3.6.1.4.1.21367.13.20.2000",
                                      universal_id_type="ISO")

    answer = hospital_b.post("/fhir", provide_bundle(REPORT))

    assert answer.status_code == 403, answer.content
    issue = answer.json()["issue"][0]
    assert issue["code"] == "forbidden"
    assert issue["expression"] == ["DocumentReference.context.sourcePatientInfo"]
    assert counts() == (0, 0, 0, 0)
    assert stored_files(document_store) == []
    assert AuditEvent.objects.filter(transaction="ITI-65", outcome=8, organisation="hosp-b").count() == 1
    alert = AuditEvent.objects.get(event_id="110113", organisation="hosp-b")
    assert "ITI-65 from organisation hosp-b" in str(alert.record)
    assert fhir_client_factory(code="hosp-a").post("/fhir", provide_bundle(REPORT)).status_code == 200
