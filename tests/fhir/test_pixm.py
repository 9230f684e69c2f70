"""ITI-83 Mobile Patient Identifier Cross-reference Query (PIXm 3.0 ITI TF-2 3.83): the
radiologist at hospital B asks who B's patient B777 is at hospital A and in the exchange."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from empi.models import PatientRecord
from organisations.services import demo_bootstrap
from tests.empi.conftest import AFFINITY_CX4
from tests.fhir.conftest import FhirTestClient

pytestmark = pytest.mark.django_db
HOSPITAL_A = "urn:oid:1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B = "urn:oid:1.3.6.1.4.1.21367.13.20.2000"
AFFINITY = "urn:oid:1.3.6.1.4.1.21367.2005.3.7"
PIX = "/fhir/Patient/$ihe-pix"


def patient(system: str, value: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": value}],
            "name": [{"family": "Doe", "given": ["Jane"]}], "gender": "female", "birthDate": "1980-01-01",
            "address": [{"line": ["12 High Street"], "city": "Springfield", "postalCode": "12345"}]}


@pytest.fixture
def domain(db: None) -> None:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")


@pytest.fixture
def jane(domain: None, fhir: FhirTestClient) -> str:
    """Hospitals A and B have fed Jane over ITI-104; her Patient id."""
    for system, value in ((HOSPITAL_A, "A123"), (HOSPITAL_B, "B777")):
        answer = fhir.put(f"/fhir/Patient?identifier={system}|{value}", patient(system, value))
        assert answer.status_code == 201, answer.content
    return str(PatientRecord.objects.get(identifier="A123").person_id)


def targets(answer: Any) -> list[dict[str, Any]]:
    parameters = answer.json().get("parameter", [])
    return [p["valueIdentifier"] for p in parameters if p["name"] == "targetIdentifier"]


def test_bs_identifier_cross_references_to_as_and_the_enterprise_id(jane: str, fhir: FhirTestClient) -> None:
    answer = fhir.get(PIX, {"sourceIdentifier": f"{HOSPITAL_B}|B777"})
    assert answer.status_code == 200
    found = {(t["system"], t["value"]) for t in targets(answer)}
    enterprise = PatientRecord.objects.get(identifier="A123").person.enterprise_id.split("^")[0]
    assert found == {(HOSPITAL_A, "A123"), (AFFINITY, enterprise)}
    references = [p["valueReference"] for p in answer.json()["parameter"] if p["name"] == "targetId"]
    assert references == [{"reference": f"Patient/{jane}"}]
    event = AuditEvent.objects.get(transaction="ITI-83", outcome=0)
    assert event.patient_ids == "B777^^^&1.3.6.1.4.1.21367.13.20.2000&ISO"


def test_target_system_limits_the_answer(jane: str, fhir: FhirTestClient) -> None:
    answer = fhir.get(PIX, [("sourceIdentifier", f"{HOSPITAL_B}|B777"), ("targetSystem", HOSPITAL_A)])
    assert [(t["system"], t["value"]) for t in targets(answer)] == [(HOSPITAL_A, "A123")]


def test_the_enterprise_id_is_a_source_identifier_too(jane: str, fhir: FhirTestClient) -> None:
    enterprise = PatientRecord.objects.get(identifier="A123").person.enterprise_id.split("^")[0]
    answer = fhir.get(PIX, {"sourceIdentifier": f"{AFFINITY}|{enterprise}"})
    found = {(t["system"], t["value"]) for t in targets(answer)}
    assert found == {(HOSPITAL_A, "A123"), (HOSPITAL_B, "B777")}


def test_a_known_patient_with_nothing_in_the_target_domain_is_an_empty_parameters(
        jane: str, fhir: FhirTestClient) -> None:
    PatientRecord.objects.filter(identifier="B777").delete()
    answer = fhir.get(PIX, [("sourceIdentifier", f"{HOSPITAL_A}|A123"), ("targetSystem", HOSPITAL_B)])
    assert answer.status_code == 200
    assert answer.json() == {"resourceType": "Parameters"}


@pytest.mark.parametrize("params", [{}, {"sourceIdentifier": "A123"}, {"sourceIdentifier": f"{HOSPITAL_A}|"}])
def test_a_source_identifier_missing_or_without_system_is_400(
        jane: str, fhir: FhirTestClient, params: dict[str, str]) -> None:
    answer = fhir.get(PIX, params)
    assert answer.status_code == 400
    assert AuditEvent.objects.filter(transaction="ITI-83", outcome=4).exists()


def test_an_unknown_source_domain_is_400_code_invalid(jane: str, fhir: FhirTestClient) -> None:
    answer = fhir.get(PIX, {"sourceIdentifier": "urn:oid:1.2.3.999|A123"})
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["code"] == "code-invalid"


def test_an_unknown_patient_is_404_not_found(jane: str, fhir: FhirTestClient) -> None:
    answer = fhir.get(PIX, {"sourceIdentifier": f"{HOSPITAL_A}|NOBODY"})
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["code"] == "not-found"
    assert AuditEvent.objects.filter(transaction="ITI-83", outcome=4).exists()


def test_an_unknown_target_system_is_403_code_invalid(jane: str, fhir: FhirTestClient) -> None:
    answer = fhir.get(PIX, [("sourceIdentifier", f"{HOSPITAL_A}|A123"),
                            ("targetSystem", "urn:oid:1.2.3.999")])
    assert answer.status_code == 403
    assert answer.json()["issue"][0]["code"] == "code-invalid"


def test_an_unknown_parameter_is_400(jane: str, fhir: FhirTestClient) -> None:
    answer = fhir.get(PIX, {"sourceIdentifier": f"{HOSPITAL_A}|A123", "colour": "blue"})
    assert answer.status_code == 400
