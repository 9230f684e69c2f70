"""ImagingStudy over FHIR: hospital A's imaging document source publishes Jane Doe's studies by
RAD-68 (KOS manifests stored, registered and indexed in process), and hospital B's viewer finds
them as ImagingStudy resources."""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from pydicom.uid import CTImageStorage, GrayscaleSoftcopyPresentationStateStorage, MRImageStorage
from pytest_django import DjangoAssertNumQueries

from audit.models import AuditEvent
from empi import services as empi
from empi.matching.record import demographics
from imaging.models import ManifestStudy
from imaging.selectors import StudyCriteria, manifest_studies_find
from organisations.models import AssigningAuthority
from organisations.services import demo_bootstrap
from registry import models as registry
from registry.ebrim.read import read_submission
from repository import services as repository
from repository import store
from repository.inspection import documents_inspect
from tests.fhir.conftest import FhirTestClient
from tests.imaging.kos_factory import Series, kos_build
from tests.registry import submissions
from tests.repository.provide import set_slot, sha1

pytestmark = pytest.mark.django_db

AFFINITY_OID = "1.3.6.1.4.1.21367.2005.3.7"
HOSPA_OID = "1.3.6.1.4.1.21367.13.20.1000"
PACS_A_LOCATION = f"{HOSPA_OID}.5"
STUDY_UID_TYPE = "urn:ihe:iti:xds:2016:studyInstanceUID"
EVENT_CODE_LIST = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


class Jane:
    """Jane Doe as hospital A's ADT feed made her known: her MRN and the EMPI's person."""

    def __init__(self) -> None:
        hospital_a = AssigningAuthority.objects.get(universal_id=HOSPA_OID)
        self.mrn = f"A{uuid.uuid4().hex[:8].upper()}"
        (result,) = empi.patient_feed(
            identifiers=[(hospital_a, self.mrn)], source="HOSPA_ADT|HOSPA", raw={},
            demographics=demographics(given="Jane", family="Doe", birth_date="19700101", sex="F"))
        self.person = result.person
        self.enterprise_id: str = result.person.enterprise_id
        self.token = f"urn:oid:{AFFINITY_OID}|{self.enterprise_id.split('^')[0]}"


@pytest.fixture
def domain(db: None, settings: Any, tmp_path: Path) -> None:
    """The demo affinity domain, and a document store of this test's own."""
    demo_bootstrap(affinity_domain_cx4=f"IHEHIE&{AFFINITY_OID}&ISO", operator_username="operator",
                   operator_password="not-a-secret")
    settings.DOCUMENT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                 "OPTIONS": {"location": str(tmp_path / "documents")}}
    settings.DICOMWEB_BASE_URL = "https://pacs.example/dicom-web"
    store.document_storage.cache_clear()


@pytest.fixture
def jane(domain: None) -> Jane:
    return Jane()


@pytest.fixture
def viewer(domain: None, fhir_client_factory: Callable[..., FhirTestClient]) -> FhirTestClient:
    """Hospital B's image viewer."""
    return fhir_client_factory(code="hospb")


def publish(jane: Jane, series: Sequence[Series], *, accession: str = "ACC0001",
            study_date: str = "20240102", description: str = "CT CHEST") -> str:
    """Hospital A's RAD-68 of one study of Jane's: the KOS stored, registered under her enterprise
    ID and indexed, as repository.handlers.rad68 does. The DocumentEntry's entryUUID."""
    study_uid = series[0][0].rpartition(".")[0]  # the series are numbered under their study
    manifest = kos_build(patient_id=jane.mrn, issuer=HOSPA_OID, study_date=study_date,
                         study_description=description, studies=[(study_uid, accession, series)])
    root = submissions.kos_submission(patient_id=jane.enterprise_id)
    for name, value in (("sourcePatientId", f"{jane.mrn}^^^&{HOSPA_OID}&ISO"),
                        ("urn:ihe:iti:xds:2013:referenceIdList", f"{study_uid}^^^^{STUDY_UID_TYPE}"),
                        ("serviceStartTime", f"{study_date}0930"), ("hash", sha1(manifest)),
                        ("size", str(len(manifest))),
                        ("repositoryUniqueId", django_settings.REPOSITORY_UNIQUE_ID)):
        set_slot(root, "Document01", name, value)
    for code in submissions.document(root).iterfind(f"{submissions.R}Classification"):
        if code.get("classificationScheme") == EVENT_CODE_LIST:
            code.set("nodeRepresentation", series[0][1])
    submission = read_submission(root)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kos.dcm"
        path.write_bytes(manifest)
        repository.document_set_provide(
            submission=submission, inspections=documents_inspect([(e, path) for e in submission.documents]),
            transaction_name="RAD-68", source="HOSPA_XDSI|HOSPA",
            contents={"Document01": repository.Content(open=lambda: io.BytesIO(manifest), size=len(manifest),
                                                       sha1=sha1(manifest))})
    return registry.DocumentEntry.objects.get(unique_id=submission.documents[0].unique_id).entry_uuid


def ct_chest(study_uid: str = "1.2.3.1") -> list[Series]:
    """Two series: three CT slices, and a presentation state on them."""
    return [(f"{study_uid}.1", "CT", "HOSPA_PACS", PACS_A_LOCATION,
             [(CTImageStorage, f"{study_uid}.1.{n}") for n in (1, 2, 3)]),
            (f"{study_uid}.2", "PR", "HOSPA_PACS", PACS_A_LOCATION,
             [(GrayscaleSoftcopyPresentationStateStorage, f"{study_uid}.2.1")])]


def mr_head(study_uid: str) -> list[Series]:
    return [(f"{study_uid}.1", "MR", "HOSPA_PACS", PACS_A_LOCATION, [(MRImageStorage, f"{study_uid}.1.1")])]


def studies(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.content
    return [entry["resource"] for entry in answer.json().get("entry", [])]


def uids(answer: Any) -> list[str]:
    return [s["identifier"][0]["value"].removeprefix("urn:oid:") for s in studies(answer)]


def test_a_published_manifest_is_an_imaging_study_with_every_field(jane: Jane,
                                                                   viewer: FhirTestClient) -> None:
    publish(jane, ct_chest("1.2.3.1"))
    row = ManifestStudy.objects.get(study_instance_uid="1.2.3.1")

    (study,) = studies(viewer.get("/fhir/ImagingStudy", {"patient": f"Patient/{jane.person.pk}"}))

    assert study["id"] == str(row.pk)
    assert study["identifier"] == [
        {"system": "urn:dicom:uid", "value": "urn:oid:1.2.3.1"},
        {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]},
         "value": "ACC0001"}]
    assert study["status"] == "available"
    assert study["subject"] == {
        "reference": f"http://testserver/fhir/Patient/{jane.person.pk}",
        "identifier": {"system": f"urn:oid:{AFFINITY_OID}", "value": jane.enterprise_id.split("^")[0]}}
    assert study["started"] == "2024-01-02"
    assert study["description"] == "CT CHEST"
    assert study["modality"] == [{"system": DCM, "code": "CT"}, {"system": DCM, "code": "PR"}]
    assert (study["numberOfSeries"], study["numberOfInstances"]) == (2, 4)
    ct, pr = study["series"]
    assert (ct["uid"], ct["modality"], ct["numberOfInstances"]) == (
        "1.2.3.1.1", {"system": DCM, "code": "CT"}, 3)
    assert ct["instance"][0] == {
        "uid": "1.2.3.1.1.1",
        "sopClass": {"system": "urn:ietf:rfc:3986", "code": f"urn:oid:{CTImageStorage}"}}
    assert [i["uid"] for i in pr["instance"]] == ["1.2.3.1.2.1"]
    assert study["endpoint"] == [{"reference": "#rad69"}, {"reference": "#wado"}]
    rad69, wado = study["contained"]
    assert rad69 == {"resourceType": "Endpoint", "id": "rad69", "status": "active",
                     "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                                        "code": "ihe-xds"},
                     "payloadType": [{"text": "DICOM"}], "address": "http://testserver/xds/imaging"}
    assert (wado["connectionType"]["code"], wado["address"]) == ("dicom-wado-rs", "https://pacs.example/dicom-web")


def test_without_a_dicomweb_service_only_the_rad69_endpoint_is_given(jane: Jane, viewer: FhirTestClient,
                                                                     settings: Any) -> None:
    settings.DICOMWEB_BASE_URL = ""
    publish(jane, ct_chest())

    (study,) = studies(viewer.get("/fhir/ImagingStudy", {"patient.identifier": jane.token}))

    assert [e["id"] for e in study["contained"]] == ["rad69"]
    assert study["endpoint"] == [{"reference": "#rad69"}]


def test_a_study_is_read_by_its_id_and_the_read_is_audited(jane: Jane, viewer: FhirTestClient) -> None:
    publish(jane, ct_chest())
    row = ManifestStudy.objects.get()

    answer = viewer.get(f"/fhir/ImagingStudy/{row.pk}")

    assert answer.status_code == 200
    assert answer.json()["identifier"][0]["value"] == "urn:oid:1.2.3.1"
    event = AuditEvent.objects.filter(event_id="rest").latest("id")
    assert (event.action_code, event.outcome, event.patient_ids) == ("R", 0, jane.enterprise_id)


@pytest.mark.parametrize("key", ["999999", "not-a-number", "9" * 30])
def test_an_unknown_study_is_404(domain: None, viewer: FhirTestClient, key: str) -> None:
    answer = viewer.get(f"/fhir/ImagingStudy/{key}")

    assert answer.status_code == 404
    assert answer.json()["issue"][0]["code"] == "not-found"


def test_a_search_naming_no_patient_or_study_is_400(jane: Jane, viewer: FhirTestClient) -> None:
    publish(jane, ct_chest())

    answer = viewer.get("/fhir/ImagingStudy", {"modality": "CT"})

    assert answer.status_code == 400
    assert answer.json()["issue"][0]["code"] == "required"


@pytest.mark.parametrize("params, status", [
    ({"_id": "9" * 30}, 200),
    ({"_id": "\u00b2"}, 200),
    ({"_id": "1", "started": "le9999-12-31T10:00:00Z"}, 200),
    ({"patient.identifier": f"urn:oid:{AFFINITY_OID}|E\x00"}, 400),
])
def test_odd_values_are_answered_without_a_server_error(domain: None, viewer: FhirTestClient,
                                                        params: dict[str, str], status: int) -> None:
    assert viewer.get("/fhir/ImagingStudy", params).status_code == status


def test_a_patient_identifier_without_a_system_is_400(domain: None, viewer: FhirTestClient) -> None:
    assert viewer.get("/fhir/ImagingStudy", {"patient.identifier": "E100"}).status_code == 400


def test_a_deprecated_manifests_study_does_not_show(jane: Jane, viewer: FhirTestClient) -> None:
    publish(jane, ct_chest("1.2.3.1"))
    registry.DocumentEntry.objects.get(entry_uuid=publish(jane, mr_head("1.2.3.2"))).deprecate()
    replaced = ManifestStudy.objects.get(study_instance_uid="1.2.3.2")

    assert uids(viewer.get("/fhir/ImagingStudy", {"patient.identifier": jane.token})) == ["1.2.3.1"]
    assert viewer.get(f"/fhir/ImagingStudy/{replaced.pk}").status_code == 404


def test_an_unknown_patient_has_no_studies(jane: Jane, viewer: FhirTestClient) -> None:
    publish(jane, ct_chest())

    assert uids(viewer.get("/fhir/ImagingStudy", {"patient": "Patient/999999"})) == []
    nobody = f"urn:oid:{AFFINITY_OID}|NOBODY"
    assert uids(viewer.get("/fhir/ImagingStudy", {"patient.identifier": nobody})) == []


@pytest.fixture
def three_studies(jane: Jane) -> Jane:
    """A CT chest of 2024, an MR head of 2023 and one of 2021, each by its own manifest."""
    publish(jane, ct_chest("1.2.3.1"), accession="ACC1", study_date="20240102")
    publish(jane, mr_head("1.2.3.2"), accession="ACC2", study_date="20230615",
            description="MR HEAD")
    publish(jane, mr_head("1.2.3.3"), accession="", study_date="20210301",
            description="MR HEAD")
    return jane


@pytest.mark.parametrize("params, expected", [
    ({}, ["1.2.3.1", "1.2.3.2", "1.2.3.3"]),
    ({"identifier": "urn:dicom:uid|urn:oid:1.2.3.2"}, ["1.2.3.2"]),
    ({"identifier": "1.2.3.3"}, ["1.2.3.3"]),
    ({"identifier": "urn:oid:1.2.3.1,ACC2"}, ["1.2.3.1", "1.2.3.2"]),
    ({"identifier": "|ACC2"}, ["1.2.3.2"]),
    ({"identifier": "http://other.example|1.2.3.2"}, []),
    ({"started": "2023"}, ["1.2.3.2"]),
    ({"started": "2023-06-15"}, ["1.2.3.2"]),
    ({"started": "2023-06-15T10:00:00Z"}, ["1.2.3.2"]),
    ({"started": "ge2023-06-15"}, ["1.2.3.1", "1.2.3.2"]),
    ({"started": "gt2023-06-15"}, ["1.2.3.1"]),
    ({"started": "lt2023-06-15"}, ["1.2.3.3"]),
    ({"started": "le2023-06"}, ["1.2.3.2", "1.2.3.3"]),
    ({"modality": "MR"}, ["1.2.3.2", "1.2.3.3"]),
    ({"modality": f"{DCM}|PR"}, ["1.2.3.1"]),
    ({"modality": "http://other.example|CT"}, []),
    ({"modality": "CT,MR", "started": "ge2022"}, ["1.2.3.1", "1.2.3.2"]),
])
def test_each_search_parameter_narrows_a_patients_studies(
        three_studies: Jane, viewer: FhirTestClient, params: dict[str, str], expected: list[str]) -> None:
    found = uids(viewer.get("/fhir/ImagingStudy", {"patient.identifier": three_studies.token, **params}))

    assert found == expected


def test_a_study_is_found_by_its_identifier_or_id_alone(three_studies: Jane, viewer: FhirTestClient) -> None:
    row = ManifestStudy.objects.get(study_instance_uid="1.2.3.3")

    by_uid = {"identifier": "urn:dicom:uid|urn:oid:1.2.3.2"}
    assert uids(viewer.get("/fhir/ImagingStudy", by_uid)) == ["1.2.3.2"]
    assert uids(viewer.get("/fhir/ImagingStudy", {"_id": f"{row.pk},nonsense"})) == ["1.2.3.3"]


def test_pages_carry_the_total_and_links_to_the_next_and_previous(three_studies: Jane,
                                                                  viewer: FhirTestClient) -> None:
    query = {"patient": f"Patient/{three_studies.person.pk}", "_count": "2"}

    first = viewer.get("/fhir/ImagingStudy", query).json()
    second = viewer.get("/fhir/ImagingStudy", {**query, "_offset": "2"}).json()

    assert (first["total"], second["total"]) == (3, 3)
    assert len(first["entry"]) == 2 and len(second["entry"]) == 1
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_offset=2" in links["next"] and "previous" not in links
    assert {link["relation"] for link in second["link"]} == {"self", "previous"}
    assert first["entry"][0]["fullUrl"].startswith("http://testserver/fhir/ImagingStudy/")


def test_a_search_is_audited_with_the_patients_it_found(three_studies: Jane, viewer: FhirTestClient) -> None:
    viewer.get("/fhir/ImagingStudy", {"patient.identifier": three_studies.token})

    event = AuditEvent.objects.filter(event_id="rest").latest("id")
    assert (event.action_code, event.outcome, event.patient_ids) == ("E", 0, three_studies.enterprise_id)
    assert event.organisation == "hospb"


def test_a_page_of_studies_takes_four_queries_however_many_series(
        three_studies: Jane, django_assert_num_queries: DjangoAssertNumQueries) -> None:
    criteria = StudyCriteria(patient_ids=[[three_studies.enterprise_id]])

    with django_assert_num_queries(4):
        page, total = manifest_studies_find(criteria=criteria, offset=0, limit=10)
        series = [s for study in page for s in study.series.all() for _ in s.instances.all()]

    assert (len(page), total, len(series)) == (3, 3, 6)
