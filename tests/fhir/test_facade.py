"""The facade's common ground: metadata, authentication, scopes, errors, body checks."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.fhir.conftest import FhirTestClient, fhir_valid

pytestmark = pytest.mark.django_db


def test_metadata_is_a_capability_statement_without_authentication() -> None:
    answer = Client().get("/fhir/metadata")
    assert answer.status_code == 200
    statement = fhir_valid(answer.json())
    kinds = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"DocumentReference", "List", "Binary", "Patient", "ImagingStudy", "AuditEvent"} <= kinds
    assert statement["rest"][0]["interaction"] == [{"code": "transaction"}]


def test_a_request_without_credentials_is_401_with_a_bearer_challenge_and_is_audited() -> None:
    answer = Client().get("/fhir/DocumentReference", {"patient.identifier": "urn:oid:1.2|3"})
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert fhir_valid(answer.json())["issue"][0]["code"] == "login"
    assert AuditEvent.objects.filter(transaction="ITI-67", outcome=4).exists()


def test_an_unknown_token_is_401() -> None:
    answer = Client().get("/fhir/Patient", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert answer.status_code == 401


def test_a_token_without_the_scope_is_403_insufficient_scope(
        fhir_client_factory: Callable[..., FhirTestClient]) -> None:
    reader = fhir_client_factory(scopes=("system/Patient.read",))
    answer = reader.get("/fhir/AuditEvent")
    assert answer.status_code == 403
    assert "insufficient_scope" in answer["WWW-Authenticate"]


def test_an_unknown_resource_type_is_404_and_an_interaction_not_offered_405(fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/Observation").status_code == 404
    assert fhir.delete("/fhir/DocumentReference").status_code == 405


def test_an_unknown_search_parameter_is_400_unless_lenient(fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/ImagingStudy", {"colour": "blue"})
    assert answer.status_code == 400
    assert answer.json()["issue"][0]["code"] == "not-supported"
    lenient = fhir.get("/fhir/ImagingStudy", {"colour": "blue", "_id": "1"}, HTTP_PREFER="handling=lenient")
    assert lenient.status_code == 200


def test_xml_is_not_acceptable(fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/ImagingStudy", {"_format": "xml"}).status_code == 406


@pytest.mark.parametrize("body, words", [
    (b"[" * 5000 + b"]" * 5000, "nests"),
    (b'{"resourceType": "Bundle", "resourceType": "Patient"}', "twice"),
    (b'{"resourceType": "Bundle", "total": NaN}', "NaN"),
    (b"\xff\xfe{}", "UTF-8"),
    (b'{"resourceType": ', "not JSON"),
])
def test_hostile_json_is_a_400_operation_outcome_and_is_audited(fhir: FhirTestClient, body: bytes,
                                                                 words: str) -> None:
    answer = fhir.post("/fhir", body)
    assert answer.status_code == 400
    assert words in json.dumps(answer.json())
    assert AuditEvent.objects.filter(transaction="ITI-65", outcome=4).exists()


def test_a_body_over_the_limit_is_413_without_being_read(fhir: FhirTestClient,
                                                         settings: pytest.FixtureRequest) -> None:
    settings.FHIR_MAX_BODY_BYTES = 1000  # type: ignore[attr-defined]
    answer = fhir.post("/fhir", b"{" + b" " * 2000 + b"}")
    assert answer.status_code == 413


def test_a_date_at_the_end_of_the_calendar_is_answered_not_a_server_error(fhir: FhirTestClient) -> None:
    for value in ("9999", "gt9999-12-31", "0001-01-01T00:00:00+14:00"):
        answer = fhir.get("/fhir/ImagingStudy", {"_id": "1", "started": value})
        assert answer.status_code in (200, 400), (value, answer.content)


def test_a_path_under_fhir_that_names_nothing_is_a_404_operation_outcome(fhir: FhirTestClient) -> None:
    answer = fhir.get("/fhir/ImagingStudy/²")
    assert answer.status_code == 404
    assert fhir_valid(answer.json())["issue"][0]["code"] == "not-found"


def test_a_nul_character_in_a_parameter_is_a_400(fhir: FhirTestClient) -> None:
    assert fhir.get("/fhir/Patient", {"family": "Mo\x00re"}).status_code == 400


def test_the_openapi_description_covers_every_route() -> None:
    from config.routes import FHIR_ROUTES

    description = Client().get("/fhir/openapi.json").json()
    operations = sum(len(methods) for methods in description["paths"].values())
    assert operations == len(FHIR_ROUTES)


def test_every_interaction_the_capability_statement_names_has_its_handler() -> None:
    import importlib

    from config.routes import FHIR_ROUTES

    statement = Client().get("/fhir/metadata").json()
    resources = statement["rest"][0]["resource"]
    named = {(r["type"], i["code"]) for r in resources for i in r.get("interaction", [])}
    named |= {(r["type"], "operation") for r in resources if r.get("operation")}
    routes = {(r.resource, r.interaction) for r in FHIR_ROUTES if r.resource}
    assert named == routes
    for route in FHIR_ROUTES:
        module, _, name = route.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), route.handler
