"""ITI-104 Patient Identity Feed FHIR (PIXm 3.0 ITI TF-2 3.104): hospitals A and B feed Jane Doe
as FHIR Patients; the EMPI links her, merges a duplicate, and forgets a withdrawn record."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from config.routes import HL7V2_ROUTES
from empi.models import PatientRecord, Person
from mllp.dispatch import Router
from organisations.services import demo_bootstrap
from registry.models import PatientIdentity
from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4, HOSPITAL_B_CX4
from tests.empi.messages import field, pid3, qbp
from tests.fhir.conftest import FhirTestClient

pytestmark = pytest.mark.django_db
HOSPITAL_A = "urn:oid:1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B = "urn:oid:1.3.6.1.4.1.21367.13.20.2000"
AFFINITY = "urn:oid:1.3.6.1.4.1.21367.2005.3.7"


@pytest.fixture
def domain(db: None) -> None:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")


def jane(system: str, value: str, *, given: str = "Jane", **more: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": value}],
            "name": [{"use": "official", "family": "Doe", "given": [given]}], "gender": "female",
            "birthDate": "1980-01-01", "telecom": [{"system": "phone", "value": "555-0101-234"}],
            "address": [{"line": ["12 High Street"], "city": "Springfield", "postalCode": "12345"}],
            **more}


def feed(fhir: FhirTestClient, system: str, value: str, body: dict[str, Any] | bytes) -> Any:
    return fhir.put(f"/fhir/Patient?identifier={system}|{value}", body)


def test_a_new_patient_is_201_with_its_location_and_the_enterprise_identity(
        domain: None, fhir: FhirTestClient) -> None:
    answer = feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123"))
    assert answer.status_code == 201
    patient = answer.json()
    assert answer["Location"].endswith(f"/fhir/Patient/{patient['id']}")
    person = Person.objects.get(pk=int(patient["id"]))
    assert {"use": "official", "system": AFFINITY, "value": person.enterprise_id.split("^")[0]} \
        in patient["identifier"]
    assert {"use": "usual", "system": HOSPITAL_A, "value": "A123"} in patient["identifier"]
    assert patient["name"][0]["family"] == "Doe"
    assert PatientRecord.objects.get(identifier="A123").raw["resourceType"] == "Patient"
    assert AuditEvent.objects.filter(transaction="ITI-104", action_code="C", outcome=0).exists()
    # The registry knows the enterprise ID the feed created (ITI TF-3 4.2.3.1.4).
    assert PatientIdentity.objects.filter(patient_id=person.enterprise_id).exists()


def test_a_revised_patient_is_200_and_the_same_person(domain: None, fhir: FhirTestClient) -> None:
    first = feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123")).json()
    answer = feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123", given="Janet"))
    assert answer.status_code == 200
    assert answer.json()["id"] == first["id"]
    assert answer.json()["name"][0]["given"] == ["Janet"]
    assert PatientRecord.objects.get(identifier="A123").given == "JANET"


def test_the_same_woman_fed_by_two_hospitals_is_one_person(domain: None, fhir: FhirTestClient) -> None:
    at_a = feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123")).json()
    at_b = feed(fhir, HOSPITAL_B, "B777", jane(HOSPITAL_B, "B777")).json()
    assert at_a["id"] == at_b["id"]
    assert {"use": "usual", "system": HOSPITAL_A, "value": "A123"} in at_b["identifier"]


def test_a_feed_is_found_over_pix_v2(domain: None, fhir: FhirTestClient,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123"))
    feed(fhir, HOSPITAL_B, "B777", jane(HOSPITAL_B, "B777"))
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    reply = Router(HL7V2_ROUTES).respond(qbp(f"B777^^^{HOSPITAL_B_CX4}", control="Q7")).payload
    assert field(reply, "QAK", 2) == "OK"
    enterprise_id = PatientRecord.objects.get(identifier="A123").person.enterprise_id
    assert pid3(reply) == {f"A123^^^{HOSPITAL_A_CX4}", f"{enterprise_id.split('^')[0]}^^^{AFFINITY_CX4}"}


@pytest.mark.parametrize("body", [
    {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
    {"resourceType": "Patient", "identifier": [{"system": HOSPITAL_A, "value": "A123"}], "gender": 7},
    {"resourceType": "Patient", "identifier": [{"system": HOSPITAL_A, "value": "A999"}]},
    {"resourceType": "Patient"},
])
def test_a_body_that_is_no_patient_or_lacks_the_identifier_is_400_and_nothing_is_stored(
        domain: None, fhir: FhirTestClient, body: dict[str, Any]) -> None:
    before = PatientRecord.objects.count()
    answer = feed(fhir, HOSPITAL_A, "A123", body)
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert PatientRecord.objects.count() == before
    assert AuditEvent.objects.filter(transaction="ITI-104", outcome=4).exists()


def test_a_feed_without_the_identifier_parameter_is_400(domain: None, fhir: FhirTestClient) -> None:
    answer = fhir.put("/fhir/Patient", jane(HOSPITAL_A, "A123"))
    assert answer.status_code == 400
    assert not PatientRecord.objects.exists()


def test_a_feed_in_a_domain_the_node_does_not_know_is_400_code_invalid(
        domain: None, fhir: FhirTestClient) -> None:
    answer = feed(fhir, "urn:oid:1.2.3.999", "X1", jane("urn:oid:1.2.3.999", "X1"))
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["code"] == "code-invalid"
    assert not PatientRecord.objects.exists()


def test_a_resolved_duplicate_merges_the_subsumed_person_into_the_survivor(
        domain: None, fhir: FhirTestClient) -> None:
    kept = feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123")).json()
    # Hospital A's second record of John Smithers, a different person until the merge.
    other = {"resourceType": "Patient", "identifier": [{"system": HOSPITAL_A, "value": "A900"}],
             "name": [{"family": "Smithers", "given": ["Waldo"]}], "birthDate": "1951-11-20"}
    subsumed = feed(fhir, HOSPITAL_A, "A900", other).json()
    assert subsumed["id"] != kept["id"]
    survivor = {"identifier": {"system": HOSPITAL_A, "value": "A123"}}
    merge = {**other, "active": False, "link": [{"type": "replaced-by", "other": survivor}]}
    answer = feed(fhir, HOSPITAL_A, "A900", merge)
    assert answer.status_code == 200
    assert answer.json()["id"] == kept["id"]
    read = fhir.get(f"/fhir/Patient/{subsumed['id']}").json()
    assert read["active"] is False
    assert read["link"] == [{"other": {"reference": f"Patient/{kept['id']}"}, "type": "replaced-by"}]
    assert PatientRecord.objects.get(identifier="A900").merged_into is not None


def test_a_deleted_record_is_forgotten_and_audited(domain: None, fhir: FhirTestClient) -> None:
    feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123"))
    answer = fhir.delete(f"/fhir/Patient?identifier={HOSPITAL_A}|A123")
    assert answer.status_code == 204
    assert not PatientRecord.objects.filter(identifier="A123").exists()
    assert AuditEvent.objects.filter(transaction="ITI-104", action_code="D", outcome=0).exists()
    missing = fhir.get("/fhir/Patient/$ihe-pix", {"sourceIdentifier": f"{HOSPITAL_A}|A123"})
    assert missing.status_code == 404


def test_deleting_an_unknown_record_is_404(domain: None, fhir: FhirTestClient) -> None:
    answer = fhir.delete(f"/fhir/Patient?identifier={HOSPITAL_A}|NOBODY")
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["code"] == "not-found"


def test_deleting_a_survivor_takes_the_identifiers_merged_into_it(domain: None, fhir: FhirTestClient) -> None:
    feed(fhir, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123"))
    feed(fhir, HOSPITAL_A, "A124", jane(HOSPITAL_A, "A124"))
    survivor = {"identifier": {"system": HOSPITAL_A, "value": "A123"}}
    merge = jane(HOSPITAL_A, "A124", active=False, link=[{"type": "replaced-by", "other": survivor}])
    assert feed(fhir, HOSPITAL_A, "A124", merge).status_code == 200
    assert fhir.delete(f"/fhir/Patient?identifier={HOSPITAL_A}|A123").status_code == 204
    assert not PatientRecord.objects.filter(identifier__in=["A123", "A124"]).exists()


def test_hospital_b_feeding_or_deleting_under_hospital_a_s_authority_is_403_and_an_alert(
        domain: None, fhir_client_factory: Any) -> None:
    """The client's organisation owns hospital B's authority and feeds under it only (ITI TF-2
    3.104.4.1.3); a revision or withdrawal of A's patient would change A's records."""
    hospital_b = fhir_client_factory(code="hospb")

    theirs = feed(hospital_b, HOSPITAL_A, "A123", jane(HOSPITAL_A, "A123"))
    removed = hospital_b.delete(f"/fhir/Patient?identifier={HOSPITAL_A}|A123")
    own = feed(hospital_b, HOSPITAL_B, "B777", jane(HOSPITAL_B, "B777"))

    assert (theirs.status_code, removed.status_code, own.status_code) == (403, 403, 201)
    assert theirs.json()["issue"][0]["code"] == "forbidden"
    assert list(PatientRecord.objects.values_list("identifier", flat=True)) == ["B777"]
    alerts = [str(a.record) for a in AuditEvent.objects.filter(event_id="110113", organisation="hospb")]
    assert len(alerts) == 2 and all("ITI-104 from organisation hospb" in text for text in alerts)
    assert AuditEvent.objects.filter(transaction="ITI-104", outcome=4).count() == 2
