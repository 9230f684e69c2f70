"""ITI-78 Mobile Patient Demographics Query (PDQm 3.0 ITI TF-2 3.78): the radiologist finds
patients by demographics and identifiers, and reads one, merged or not."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from config.routes import HL7V2_ROUTES
from empi.models import PatientRecord
from mllp.dispatch import Router
from organisations.services import demo_bootstrap
from tests.empi.conftest import AFFINITY_CX4
from tests.empi.messages import JANE_AT_A, adt
from tests.fhir.conftest import FhirTestClient

pytestmark = pytest.mark.django_db
HOSPITAL_A = "urn:oid:1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B = "urn:oid:1.3.6.1.4.1.21367.13.20.2000"
MAIDEN = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
JANE = {"name": [{"family": "Doe", "given": ["Jane"]}], "gender": "female", "birthDate": "1980-01-01",
        "telecom": [{"system": "phone", "value": "555-0101-234"}],
        "address": [{"line": ["12 High Street"], "city": "Springfield", "postalCode": "12345",
                     "state": "IL", "country": "US"}],
        "extension": [{"url": MAIDEN, "valueString": "Miller"}]}
JOHN = {"name": [{"family": "Smithers", "given": ["Waldo"]}], "gender": "male", "birthDate": "1951-11-20",
        "address": [{"line": ["1 Mill Lane"], "city": "Shelbyville", "postalCode": "99887",
                     "state": "KY", "country": "US"}]}
JOAN = {"name": [{"family": "Dobson", "given": ["Joan"]}], "gender": "female", "birthDate": "1990-06-15",
        "address": [{"city": "Springfield", "postalCode": "12345", "country": "CA"}]}


@pytest.fixture
def domain(db: None) -> None:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")


def put(fhir: FhirTestClient, system: str, value: str, demographics: dict[str, Any]) -> str:
    body = {"resourceType": "Patient", "identifier": [{"system": system, "value": value}], **demographics}
    answer = fhir.put(f"/fhir/Patient?identifier={system}|{value}", body)
    assert answer.status_code in (200, 201), answer.content
    return str(answer.json()["id"])


@pytest.fixture
def people(domain: None, fhir: FhirTestClient) -> dict[str, str]:
    """Jane at hospitals A and B, John and Joan at hospital B: their Patient ids."""
    jane = put(fhir, HOSPITAL_A, "A123", JANE)
    assert put(fhir, HOSPITAL_B, "B777", JANE) == jane
    return {"jane": jane, "john": put(fhir, HOSPITAL_B, "B900", JOHN),
            "joan": put(fhir, HOSPITAL_B, "B901", JOAN)}


def found(fhir: FhirTestClient, params: dict[str, str] | list[tuple[str, str]]) -> list[str]:
    answer = fhir.get("/fhir/Patient", params)
    assert answer.status_code == 200, answer.content
    return sorted(e["resource"]["id"] for e in answer.json().get("entry", []))


def test_a_family_name_is_a_case_insensitive_prefix(people: dict[str, str], fhir: FhirTestClient) -> None:
    assert found(fhir, {"family": "do"}) == sorted([people["jane"], people["joan"]])
    assert found(fhir, {"family:exact": "Doe"}) == [people["jane"]]
    assert found(fhir, {"family:exact": "Do"}) == []


@pytest.mark.parametrize("params, who", [
    ({"given": "wal"}, ["john"]),
    ({"gender": "male"}, ["john"]),
    ({"birthdate": "1980-01-01"}, ["jane"]),
    ({"birthdate": "ge1985-01-01"}, ["joan"]),
    ({"birthdate": "le1980-01-01"}, ["jane", "john"]),
    ([("birthdate", "gt1951-11-20"), ("birthdate", "lt1990")], ["jane"]),
    ({"telecom": "phone|555-0101-234"}, ["jane"]),
    ({"address": "shelby"}, ["john"]),
    ({"address": "12 high"}, ["jane"]),
    ({"address": "99887"}, ["john"]),
    ({"address-city": "springfield"}, ["jane", "joan"]),
    ({"address-postalcode": "99887"}, ["john"]),
    ({"address-state": "ky"}, ["john"]),
    ({"address-country": "US"}, ["jane", "john"]),
    ({"mothersMaidenName": "mill"}, ["jane"]),
    ({"identifier": f"{HOSPITAL_B}|B900"}, ["john"]),
    ({"identifier": "B777"}, ["jane"]),
    ({"identifier": "urn:oid:1.2.3.999|B777"}, []),
    ({"active": "true", "family": "smithers"}, ["john"]),
    ({"active": "false"}, []),
])
def test_each_pdqm_parameter_finds_its_patients(people: dict[str, str], fhir: FhirTestClient,
                                                params: dict[str, str], who: list[str]) -> None:
    assert found(fhir, params) == sorted(people[name] for name in who)


def test_the_id_finds_the_patient(people: dict[str, str], fhir: FhirTestClient) -> None:
    assert found(fhir, {"_id": people["john"]}) == [people["john"]]
    assert found(fhir, {"_id": people["john"], "gender": "female"}) == []


def test_a_patient_has_every_identifier_and_the_fed_demographics(
        people: dict[str, str], fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/Patient", {"identifier": f"{HOSPITAL_A}|A123"}).json()
    patient = answer["entry"][0]["resource"]
    systems = {(i.get("use"), i["system"]) for i in patient["identifier"]}
    assert {("usual", HOSPITAL_A), ("usual", HOSPITAL_B)} <= systems
    assert any(use == "official" for use, _ in systems)
    assert patient["birthDate"] == "1980-01-01"
    assert patient["gender"] == "female"
    event = AuditEvent.objects.filter(transaction="ITI-78", outcome=0).latest("id")
    assert event.patient_ids == PatientRecord.objects.get(identifier="A123").person.enterprise_id


def test_results_come_in_pages_with_a_total_and_links(people: dict[str, str], fhir: FhirTestClient) -> None:
    first = fhir.get("/fhir/Patient", {"gender": "female", "_count": "1"}).json()
    assert first["total"] == 2
    assert len(first["entry"]) == 1
    assert {link["relation"] for link in first["link"]} == {"self", "next"}
    second = fhir.get("/fhir/Patient", {"gender": "female", "_count": "1", "_offset": "1"}).json()
    assert {link["relation"] for link in second["link"]} == {"self", "previous"}
    ids = {first["entry"][0]["resource"]["id"], second["entry"][0]["resource"]["id"]}
    assert ids == {people["jane"], people["joan"]}


def test_a_search_without_parameters_is_400(people: dict[str, str], fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/Patient")
    assert answer.status_code == 400
    assert AuditEvent.objects.filter(transaction="ITI-78", outcome=4).exists()


@pytest.mark.parametrize("params", [{"birthdate": "1980-13-45"}, {"gender": "lady"},
                                    {"family:contains": "oe"}, {"colour": "blue"}])
def test_a_parameter_the_supplier_cannot_read_is_400(people: dict[str, str], fhir: FhirTestClient,
                                                     params: dict[str, str]) -> None:
    assert fhir.get("/fhir/Patient", params).status_code == 400


def test_a_patient_is_read_by_id(people: dict[str, str], fhir: FhirTestClient) -> None:
    answer = fhir.get(f"/fhir/Patient/{people['john']}")
    assert answer.status_code == 200
    patient = answer.json()
    assert (patient["id"], patient["active"]) == (people["john"], True)
    assert patient["name"] == JOHN["name"]
    assert AuditEvent.objects.filter(transaction="ITI-78", outcome=0).exists()


def test_an_unknown_patient_is_404(people: dict[str, str], fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/Patient/999999").status_code == 404
    assert fhir.get("/fhir/Patient/not-a-number").status_code == 404


def test_a_merged_patient_reads_inactive_and_points_at_the_survivor(
        people: dict[str, str], fhir: FhirTestClient) -> None:
    merge = {"resourceType": "Patient", "identifier": [{"system": HOSPITAL_B, "value": "B901"}],
             "active": False, "link": [{"type": "replaced-by",
                                        "other": {"identifier": {"system": HOSPITAL_B, "value": "B777"}}}]}
    assert fhir.put(f"/fhir/Patient?identifier={HOSPITAL_B}|B901", merge).status_code == 200
    patient = fhir.get(f"/fhir/Patient/{people['joan']}").json()
    assert patient["active"] is False
    assert patient["link"] == [{"other": {"reference": f"Patient/{people['jane']}"}, "type": "replaced-by"}]
    assert found(fhir, {"family": "dobson"}) == []


def test_a_patient_fed_over_hl7_v2_is_found_with_the_normalised_demographics(
        domain: None, fhir: FhirTestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    Router(HL7V2_ROUTES).respond(adt("A04", JANE_AT_A))
    answer = fhir.get("/fhir/Patient", {"family": "doe", "birthdate": "1980-01-01"}).json()
    patient = answer["entry"][0]["resource"]
    assert patient["name"] == [{"use": "official", "family": "DOE", "given": ["JANE", "M"]}]
    assert (patient["gender"], patient["birthDate"]) == ("female", "1980-01-01")
    assert patient["address"] == [{"city": "SPRINGFIELD", "postalCode": "12345", "line": ["12 HIGH STREET"]}]
