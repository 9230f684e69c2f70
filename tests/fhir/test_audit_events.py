"""ITI-81 Retrieve ATNA Audit Event: the operator's audit consumer searches the node's audit
trail over FHIR, and reads each record as a FHIR R4 AuditEvent."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings

from audit import services
from audit.events import NODE_AUTHENTICATION, Peer, StudyRef, instances_transferred, query, security_alert
from audit.events.rest import rest_interaction
from audit.models import AuditEvent
from audit.records import AuditSource, Code
from tests.fhir.conftest import FhirTestClient

pytestmark = pytest.mark.django_db

AFFINITY_OID = "1.3.6.1.4.1.21367.2005.3.7"
JANE = f"E100^^^&{AFFINITY_OID}&ISO"
JOHN = f"E200^^^&{AFFINITY_OID}&ISO"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
TREATMENT = Code("TREAT", "2.16.840.1.113883.5.8", "Treatment")
BEFORE_NOW = "lt2025"  # the trail below is of 2024; the consumer's own searches are recorded now


@dataclass
class Trail:
    """Three events of 2024: hospital B's registry query about Jane, a C-MOVE of John's study
    that partly failed, and a refused TLS handshake reported by another node."""

    query: AuditEvent
    transfer: AuditEvent
    alert: AuditEvent

    def name(self, resource: dict[str, Any]) -> str:
        return {str(e.pk): n for n, e in vars(self).items()}[resource["id"]]


@pytest.fixture
def trail(db: None) -> Trail:
    node = Peer("http://node.example/xds/registry", host="node.example", alternative_user_id="4242")
    return Trail(
        query=services.record(query(
            transaction="ITI-18", sender=Peer("HOSPB|XDS_CONSUMER", host="10.0.0.2"), receiver=node,
            raw_query=b"<query:AdhocQueryRequest/>", query_id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
            patient_ids=[JANE], purpose_of_use=[TREATMENT],
            event_datetime=datetime(2024, 1, 10, 10, 0, tzinfo=UTC)), organisation="hospb"),
        transfer=services.record(instances_transferred(
            sender=Peer("HOSPA_PACS", host="pacs.hospa.example"),
            receiver=Peer("HOSPB_PACS", host="10.0.0.9"),
            patient_id=JOHN, studies=[StudyRef("1.2.3.4", sop_classes=(("1.2.840.10008.5.1.4.1.1.2", 3),))],
            outcome=4, outcome_description="1 of 3 instances failed",
            event_datetime=datetime(2024, 2, 1, 8, 30, tzinfo=UTC))),
        alert=services.record(security_alert(
            type_code=NODE_AUTHENTICATION, description="no client certificate", outcome=8,
            performer=Peer("unknown", host="192.168.1.66"), subject="192.168.1.66",
            source=AuditSource("OTHERNODE", enterprise_site_id="1.2.3"),
            event_datetime=datetime(2024, 3, 1, 23, 59, tzinfo=UTC))),
    )


@pytest.fixture
def auditor(fhir_client_factory: Callable[..., FhirTestClient]) -> FhirTestClient:
    """The exchange's audit consumer: only the scope to read the trail."""
    return fhir_client_factory(scopes=("system/AuditEvent.read",), code="hie")


def found(answer: Any, trail: Trail) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [trail.name(e["resource"]) for e in answer.json().get("entry", [])]


def test_a_query_record_reads_as_an_audit_event_with_every_dicom_field(trail: Trail,
                                                                       auditor: FhirTestClient) -> None:
    answer = auditor.get(f"/fhir/AuditEvent/{trail.query.pk}")

    assert answer.status_code == 200
    event = answer.json()
    assert event["id"] == str(trail.query.pk)
    assert event["type"] == {"system": DCM, "code": "110112", "display": "Query"}
    assert event["subtype"] == [{"system": "urn:ihe:event-type-code", "code": "ITI-18",
                                 "display": "Registry Stored Query"}]
    assert (event["action"], event["outcome"]) == ("E", "0")
    assert event["recorded"] == "2024-01-10T10:00:00.000Z"
    assert event["purposeOfEvent"] == [{"coding": [{"system": "2.16.840.1.113883.5.8", "code": "TREAT",
                                                    "display": "Treatment"}]}]
    consumer, registry = event["agent"]
    assert consumer == {"type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
                        "who": {"identifier": {"value": "HOSPB|XDS_CONSUMER"}}, "requestor": True,
                        "network": {"address": "10.0.0.2", "type": "2"}}
    assert registry["who"] == {"identifier": {"value": "http://node.example/xds/registry"}}
    assert (registry["altId"], registry["requestor"], registry["network"]) == (
        "4242", False, {"address": "node.example", "type": "1"})
    assert event["source"]["observer"] == {"display": settings.AUDIT_SOURCE_ID or settings.DICOM_AE_TITLE}
    assert event["source"]["site"] == AFFINITY_OID
    assert event["source"]["type"] == [{"system": f"{TERMINOLOGY}/security-source-type",
                                        "code": "4", "display": "Application Server Process or Thread"}]
    patient, query_object = event["entity"]
    assert patient["what"]["identifier"]["value"] == JANE
    assert patient["type"] == {"system": f"{TERMINOLOGY}/audit-entity-type", "code": "1"}
    assert patient["role"] == {"system": f"{TERMINOLOGY}/object-role", "code": "1"}
    assert query_object["what"]["identifier"] == {
        "type": {"coding": [{"system": "urn:ihe:event-type-code", "code": "ITI-18",
                             "display": "Registry Stored Query"}]},
        "value": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"}
    assert (query_object["type"]["code"], query_object["role"]["code"]) == ("2", "24")
    assert base64.b64decode(query_object["query"]) == b"<query:AdhocQueryRequest/>"
    assert query_object["detail"] == [{"type": "QueryEncoding", "valueBase64Binary": "VVRGLTg="}]


def test_a_security_alert_keeps_its_outcome_description_and_subject(trail: Trail,
                                                                    auditor: FhirTestClient) -> None:
    event = auditor.get(f"/fhir/AuditEvent/{trail.alert.pk}").json()

    assert (event["type"]["code"], event["outcome"], event["outcomeDesc"]) == (
        "110113", "8", "no client certificate")
    assert event["subtype"] == [{"system": DCM, "code": NODE_AUTHENTICATION,
                                 "display": "Node Authentication"}]
    assert event["source"] == {"site": "1.2.3", "observer": {"display": "OTHERNODE"}}
    (subject,) = event["entity"]
    assert subject["what"]["identifier"]["value"] == "192.168.1.66"
    assert base64.b64decode(subject["detail"][0]["valueBase64Binary"]) == b"no client certificate"


@pytest.mark.parametrize("key", ["999999", "x1", "9" * 30])
def test_an_unknown_audit_event_is_404(trail: Trail, auditor: FhirTestClient, key: str) -> None:
    assert auditor.get(f"/fhir/AuditEvent/{key}").status_code == 404


@pytest.mark.parametrize("params, expected", [
    ([], ["alert", "transfer", "query"]),
    ([("date", "2024-02")], ["transfer"]),
    ([("date", "ge2024-02-01")], ["alert", "transfer"]),
    ([("date", "lt2024-02-01T08:30:00Z")], ["query"]),
    ([("date", "ge2024-01-10T10:00:00Z"), ("date", "le2024-02-01")], ["transfer", "query"]),
    ([("patient.identifier", f"urn:oid:{AFFINITY_OID}|E100")], ["query"]),
    ([("patient.identifier", f"urn:oid:{AFFINITY_OID}|E1")], []),
    ([("entity-id", "1.2.3.4")], ["transfer"]),
    ([("entity-id", f"urn:oid:{AFFINITY_OID}|E200")], ["transfer"]),
    ([("entity-id", "192.168.1.66,urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d")], ["alert", "query"]),
    ([("outcome", "0")], ["query"]),
    ([("outcome", "8,12")], ["alert"]),
    ([("type", "110112")], ["query"]),
    ([("type", f"{DCM}|110104")], ["transfer"]),
    ([("type", "http://other.example|110112")], []),
    ([("subtype", "ITI-18")], ["query"]),
    ([("subtype", "urn:ihe:event-type-code|ITI-18")], ["query"]),
    ([("subtype", f"{DCM}|{NODE_AUTHENTICATION}")], ["alert"]),
    ([("source", "OTHERNODE")], ["alert"]),
    ([("address", "10.0.0")], ["query"]),
    ([("address:exact", "pacs.hospa.example")], ["transfer"]),
    ([("address:contains", "HOSPA")], ["transfer"]),
    ([("agent", "HOSPB|XDS_CONSUMER")], ["query"]),
    ([("altid", "4242")], ["query"]),
    ([("outcome", "4"), ("type", "110112")], []),
])
def test_each_search_parameter_narrows_the_trail(trail: Trail, auditor: FhirTestClient,
                                                 params: list[tuple[str, str]], expected: list[str]) -> None:
    assert found(auditor.get("/fhir/AuditEvent", [("date", BEFORE_NOW), *params]), trail) == expected


def test_an_event_is_found_by_its_id(trail: Trail, auditor: FhirTestClient) -> None:
    assert found(auditor.get("/fhir/AuditEvent", {"_id": f"{trail.transfer.pk},x"}), trail) == ["transfer"]


def test_pages_are_newest_first_with_the_total_and_links(trail: Trail, auditor: FhirTestClient) -> None:
    query = [("date", BEFORE_NOW), ("_count", "2")]

    first = auditor.get("/fhir/AuditEvent", query).json()
    second = auditor.get("/fhir/AuditEvent", [*query, ("_offset", "2")])

    assert first["total"] == 3
    assert [trail.name(e["resource"]) for e in first["entry"]] == ["alert", "transfer"]
    assert {link["relation"] for link in first["link"]} == {"self", "next"}
    assert found(second, trail) == ["query"]


def test_the_search_is_audited_as_an_iti81_query_and_found_by_the_next(trail: Trail,
                                                                       auditor: FhirTestClient) -> None:
    auditor.get("/fhir/AuditEvent", {"patient.identifier": f"urn:oid:{AFFINITY_OID}|E100"})

    answer = auditor.get("/fhir/AuditEvent", {"subtype": "ITI-81"}).json()

    (entry,) = answer["entry"]
    event = entry["resource"]
    assert (event["type"]["code"], event["action"], event["outcome"]) == ("110112", "E", "0")
    assert event["subtype"][0]["display"] == "Retrieve ATNA Audit Event"
    patient, searched = event["entity"]
    assert patient["what"]["identifier"]["value"] == JANE
    assert "patient.identifier" in base64.b64decode(searched["query"]).decode()
    assert AuditEvent.objects.filter(transaction="ITI-81", organisation="hie").count() == 2


def test_a_fhir_read_elsewhere_is_found_by_its_entity_and_interaction(fhir: FhirTestClient,
                                                                      auditor: FhirTestClient) -> None:
    fhir.get("/fhir/ImagingStudy/12345")  # 404: not audited, there was nothing to read
    fhir.get("/fhir/ImagingStudy", {"_id": "12345"})

    answer = auditor.get("/fhir/AuditEvent", {"subtype": "http://hl7.org/fhir/restful-interaction|search-type",
                                              "type": "rest"}).json()

    (entry,) = answer["entry"]
    assert entry["resource"]["type"]["system"] == "http://terminology.hl7.org/CodeSystem/audit-event-type"
    assert base64.b64decode(entry["resource"]["entity"][0]["query"]).decode().endswith("_id=12345")


def test_a_resource_read_is_found_by_its_entity_reference(trail: Trail, auditor: FhirTestClient) -> None:
    read = services.record(rest_interaction(
        interaction="read", sender=Peer("viewer", host="10.0.0.3"), receiver=Peer("http://node.example/fhir"),
        url="http://node.example/fhir/ImagingStudy/7", resource="ImagingStudy/7", patient_ids=[JOHN]))

    answer = auditor.get("/fhir/AuditEvent", {"entity": "http://node.example/fhir/ImagingStudy/7"}).json()

    assert [e["resource"]["id"] for e in answer["entry"]] == [str(read.pk)]
    assert answer["entry"][0]["resource"]["action"] == "R"


def test_a_client_without_the_audit_scope_is_403(trail: Trail,
                                                 fhir_client_factory: Callable[..., FhirTestClient]) -> None:
    viewer = fhir_client_factory(scopes=("system/ImagingStudy.read",), code="hospb")

    assert viewer.get("/fhir/AuditEvent").status_code == 403
    assert viewer.get(f"/fhir/AuditEvent/{trail.query.pk}").status_code == 403


@pytest.mark.parametrize("params, status", [
    ({"_id": "9" * 30}, 200),
    ({"entity-id": "\u00e9tude"}, 200),
    ({"address": "10.0\x00"}, 400),
])
def test_odd_values_are_answered_without_a_server_error(auditor: FhirTestClient, params: dict[str, str],
                                                        status: int) -> None:
    assert auditor.get("/fhir/AuditEvent", params).status_code == status


def test_an_unsupported_parameter_is_400(auditor: FhirTestClient) -> None:
    answer = auditor.get("/fhir/AuditEvent", {"policy": "x"})

    assert answer.status_code == 400
