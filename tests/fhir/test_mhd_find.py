"""ITI-67 Find Document References: hospital B's radiologist searches Jane Doe's documents over
FHIR, with FindDocuments' semantics (MHD 4.2 ITI TF-2 3.67)."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from empi.models import Person
from registry.models import DEPRECATED, DocumentEntry
from tests.fhir.conftest import FhirTestClient
from tests.registry.factories import (
    DCM,
    JANE,
    JANE_OLD,
    JOHN,
    LOINC,
    PDF_FORMAT,
    RESTRICTED,
    RPLC,
    a_document,
    a_patient,
    an_association,
)

pytestmark = pytest.mark.django_db

AFFINITY = "urn:oid:1.3.6.1.4.1.21367.2005.3.7"
JANE_TOKEN = f"{AFFINITY}|E100"
RFC3986 = "urn:ietf:rfc:3986"


def found(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [e["resource"]["id"] for e in answer.json().get("entry", [])]


def rid(entry: DocumentEntry) -> str:
    return entry.entry_uuid.removeprefix("urn:uuid:")


def search(fhir: FhirTestClient, **params: str) -> list[str]:
    return sorted(found(fhir.get("/fhir/DocumentReference", {"patient.identifier": JANE_TOKEN, **params})))


def test_jane_s_documents_are_found_by_her_affinity_domain_id(fhir: FhirTestClient) -> None:
    ct, mr = a_document(), a_document()
    a_document(patient=JOHN)
    answer = fhir.get("/fhir/DocumentReference", {"patient.identifier": JANE_TOKEN})
    bundle = answer.json()
    assert (bundle["type"], bundle["total"]) == ("searchset", 2)
    assert sorted(found(answer)) == sorted([rid(ct), rid(mr)])


def test_a_document_reference_carries_the_entry_s_metadata(fhir: FhirTestClient) -> None:
    entry = a_document(reference_ids=("A-77^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:accession",))
    [resource] = [e["resource"] for e in fhir.get("/fhir/DocumentReference",
                                                   {"patient.identifier": JANE_TOKEN}).json()["entry"]]
    assert resource["id"] == rid(entry)
    assert resource["identifier"] == [{"use": "official", "system": RFC3986, "value": entry.entry_uuid}]
    assert resource["masterIdentifier"] == {"system": RFC3986, "value": f"urn:oid:{entry.unique_id}"}
    assert resource["status"] == "current"
    assert resource["type"] == {"coding": [{"system": f"urn:oid:{LOINC}", "code": "18748-4"}]}
    assert resource["category"][0]["coding"][0]["code"] == "18748-4"
    assert resource["subject"]["identifier"] == {"system": AFFINITY, "value": "E100"}
    assert resource["date"] == "2024-01-15T10:30:00Z"
    assert resource["securityLabel"][0]["coding"][0]["code"] == "N"
    attachment = resource["content"][0]["attachment"]
    assert attachment["url"].endswith(f"/fhir/Binary/{entry.unique_id}")
    assert (attachment["contentType"], attachment["title"], attachment["creation"]) == (
        "application/dicom", "CT chest", "2024-01-15T10:30:00Z")
    assert resource["content"][0]["format"]["system"] == "urn:oid:1.2.840.10008.2.6.1"
    context = resource["context"]
    assert context["period"] == {"start": "2024-01-15T10:00:00Z", "end": "2024-01-15T10:15:00Z"}
    assert [c["coding"][0]["code"] for c in context["event"]] == ["CT", "T-D3000"]
    assert context["event"][1]["coding"][0]["system"] == "SRT"  # a scheme that is no OID stays as is
    assert context["related"][0]["identifier"]["value"] == "A-77"


def test_the_subject_refers_to_the_empi_person_when_the_empi_knows_the_id(fhir: FhirTestClient) -> None:
    person = Person.objects.create(enterprise_id=JANE)
    a_document()
    [entry] = fhir.get("/fhir/DocumentReference", {"patient": f"Patient/{person.pk}"}).json()["entry"]
    assert entry["resource"]["subject"]["reference"].endswith(f"/fhir/Patient/{person.pk}")


def test_a_search_without_a_patient_is_400_and_audited(fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/DocumentReference", {"status": "current"})
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["expression"] == ["patient"]
    assert AuditEvent.objects.filter(transaction="ITI-67", outcome=4).exists()


def test_a_patient_identifier_without_a_system_is_400(fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/DocumentReference", {"patient.identifier": "E100"}).status_code == 400


def test_an_unknown_patient_is_an_empty_bundle(fhir: FhirTestClient) -> None:
    a_document()
    for params in ({"patient.identifier": f"{AFFINITY}|NOBODY"}, {"patient": "Patient/999999"}):
        answer = fhir.get("/fhir/DocumentReference", params)
        assert (answer.status_code, answer.json()["total"]) == (200, 0)


def test_documents_filed_under_a_merged_id_answer_to_the_survivor(fhir: FhirTestClient) -> None:
    a_patient(JANE_OLD, merged_into=JANE)
    old = a_document(patient=JANE_OLD)
    assert search(fhir) == [rid(old)]


def test_the_search_is_audited_as_an_iti_67_query_about_the_patient(fhir: FhirTestClient) -> None:
    a_document()
    search(fhir)
    event = AuditEvent.objects.get(transaction="ITI-67", outcome=0)
    assert JANE in event.patient_ids


def test_status_maps_to_approved_and_deprecated(fhir: FhirTestClient) -> None:
    current, old = a_document(), a_document(status=DEPRECATED)
    assert search(fhir, status="current") == [rid(current)]
    assert search(fhir, status="superseded") == [rid(old)]
    assert search(fhir, status="current,superseded") == sorted([rid(current), rid(old)])
    assert search(fhir, status="entered-in-error") == []


@pytest.mark.parametrize("value, matches", [
    ("2024-01-15", True), ("eq2024-01", True), ("ge2024-01-15T10:30:00Z", True),
    ("gt2024-01-15T10:30:00Z", False), ("lt2024-01-15T10:30:00Z", False), ("le2024-01-15", True),
    ("2024-01-15T12:30:00+02:00", True), ("sa2023", True), ("eb2024-01-15", False),
])
def test_date_prefixes_compare_with_the_creation_time(fhir: FhirTestClient, value: str,
                                                      matches: bool) -> None:
    entry = a_document(creation_time="20240115103000")
    assert search(fhir, date=value) == ([rid(entry)] if matches else [])


def test_a_date_range_is_two_date_parameters(fhir: FhirTestClient) -> None:
    january, march = a_document(creation_time="20240115"), a_document(creation_time="20240315")
    params = [("patient.identifier", JANE_TOKEN), ("date", "ge2024-01-01"), ("date", "lt2024-02-01")]
    assert found(fhir.get("/fhir/DocumentReference", params)) == [rid(january)]
    assert rid(march) in search(fhir, date="ge2024-03")


def test_an_unreadable_date_is_400(fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/DocumentReference", {"patient.identifier": JANE_TOKEN, "date": "yesterday"})
    assert answer.status_code == 400


def test_period_matches_the_documents_whose_service_overlaps_it(fhir: FhirTestClient) -> None:
    entry = a_document(service_start="20240115100000", service_stop="20240115101500")
    assert search(fhir, period="2024-01-15") == [rid(entry)]
    assert search(fhir, period="ge2024-01-16") == []
    assert search(fhir, period="lt2024-01-15T10:00:00Z") == []


@pytest.mark.parametrize("name, column, value", [
    ("type", "type_code", ("11488-4", LOINC)),
    ("category", "class_code", ("11488-4", LOINC)),
    ("setting", "practice", ("R-30248", "SRT")),
    ("facility", "facility", ("HOSP", "2.16.840.1.113883.5.11")),
    ("format", "format_code", PDF_FORMAT),
])
def test_each_coded_attribute_is_searched_with_system_and_code(fhir: FhirTestClient, name: str,
                                                                column: str, value: tuple[str, str]) -> None:
    other = a_document(**{column: value})  # type: ignore[arg-type]
    a_document()
    system = f"urn:oid:{value[1]}" if value[1][0].isdigit() else value[1]
    assert search(fhir, **{name: f"{system}|{value[0]}"}) == [rid(other)]
    assert search(fhir, **{name: f"urn:oid:9.9.9|{value[0]}"}) == []


def test_a_token_without_a_system_matches_the_code_in_any_scheme(fhir: FhirTestClient) -> None:
    pdf = a_document(format_code=PDF_FORMAT)
    a_document()
    assert search(fhir, format="urn:ihe:iti:xds:2017:mimeTypeSufficient") == [rid(pdf)]


def test_event_and_security_label_search_the_code_lists(fhir: FhirTestClient) -> None:
    mr = a_document(events=(("MR", DCM),), confidentiality=(RESTRICTED,))
    ct = a_document()
    assert search(fhir, event=f"urn:oid:{DCM}|MR") == [rid(mr)]
    assert search(fhir, event="CT,MR") == sorted([rid(ct), rid(mr)])
    params = [("patient.identifier", JANE_TOKEN), ("event", "CT"), ("event", "T-D3000")]
    assert found(fhir.get("/fhir/DocumentReference", params)) == [rid(ct)]  # repeated: ANDed
    assert search(fhir, **{"security-label": "R"}) == [rid(mr)]


def test_author_given_and_family_match_the_author_person(fhir: FhirTestClient) -> None:
    smitty = a_document()
    a_document(authors=("^Welby^Marcus^^^",))
    assert search(fhir, **{"author.family": "Smitty"}) == [rid(smitty)]
    assert search(fhir, **{"author.given": "Ger"}) == [rid(smitty)]
    assert search(fhir, **{"author.family": "Smitty", "author.given": "Marcus"}) == []
    assert len(search(fhir, **{"author.family": "Smitty,Welby"})) == 2


def test_related_matches_the_reference_id_list(fhir: FhirTestClient) -> None:
    ordered = a_document(reference_ids=("A-77^^^&1.2.3.4&ISO^urn:ihe:iti:xds:2013:accession",))
    a_document()
    assert search(fhir, **{"related:identifier": "urn:oid:1.2.3.4|A-77"}) == [rid(ordered)]
    assert search(fhir, **{"related:identifier": "urn:oid:1.2.3.4|A-78"}) == []


def test_identifier_and_id_find_one_entry(fhir: FhirTestClient) -> None:
    entry, _ = a_document(), a_document()
    assert search(fhir, identifier=entry.entry_uuid) == [rid(entry)]
    assert search(fhir, identifier=f"urn:ietf:rfc:3986|urn:oid:{entry.unique_id}") == [rid(entry)]
    assert search(fhir, _id=rid(entry)) == [rid(entry)]


def test_an_unknown_parameter_is_400(fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/DocumentReference", {"patient.identifier": JANE_TOKEN, "colour": "blue"})
    assert answer.status_code == 400


def test_pages_are_followed_by_their_next_links_until_done(fhir: FhirTestClient) -> None:
    made = {rid(a_document()) for _ in range(7)}
    seen: list[str] = []
    answer = fhir.get("/fhir/DocumentReference", {"patient.identifier": JANE_TOKEN, "_count": "3"})
    pages = 0
    while True:
        pages += 1
        bundle = answer.json()
        assert bundle["total"] == 7
        seen += found(answer)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        answer = fhir.get(following[0].removeprefix("http://testserver"))
    assert pages == 3
    assert sorted(seen) == sorted(made)


def test_a_page_past_the_end_is_empty_and_keeps_the_total(fhir: FhirTestClient) -> None:
    a_document()
    bundle = fhir.get("/fhir/DocumentReference", {"patient.identifier": JANE_TOKEN, "_offset": "5"}).json()
    assert (bundle["total"], bundle.get("entry")) == (1, None)


def test_a_replacement_relates_to_the_document_it_replaces(fhir: FhirTestClient) -> None:
    original, replacement = a_document(status=DEPRECATED), a_document()
    an_association(replacement.entry_uuid, original.entry_uuid, kind=RPLC)
    answer = fhir.get(f"/fhir/DocumentReference/{rid(replacement)}")
    assert answer.json()["relatesTo"] == [{"code": "replaces",
                                           "target": {"reference": f"DocumentReference/{rid(original)}"}}]
    assert fhir.get(f"/fhir/DocumentReference/{rid(original)}").json()["status"] == "superseded"


def test_a_read_answers_the_document_reference_and_is_audited(fhir: FhirTestClient) -> None:
    entry = a_document()
    answer = fhir.get(f"/fhir/DocumentReference/{rid(entry)}")
    assert (answer.status_code, answer.json()["id"]) == (200, rid(entry))
    assert AuditEvent.objects.filter(transaction="ITI-67", outcome=0).exists()


def test_an_unknown_document_reference_is_404(fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/DocumentReference/00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404
    assert answer.json()["issue"][0]["code"] == "not-found"
