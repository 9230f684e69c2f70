"""FHIR JSON fuzzed: bodies and ITI-65 Bundles are read or refused with an OperationOutcome; the
crashes the fuzzer found stay fixed (the fuzzing run itself: `make fuzz`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from fhir_api.errors import FhirError
from fhir_api.patients.resource import patient_checked
from fhir_api.wire.body import parse_json
from fuzz import fhir_json
from fuzz.engine import fuzz_settings


@fuzz_settings(150)
@given(fhir_json.strategy())
def test_a_hostile_fhir_body_is_read_or_refused_with_an_operation_outcome(data: bytes) -> None:
    fhir_json.check(data)


def bundle() -> dict[str, Any]:
    return fhir_json._bundles()[0]


def entry(document: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == resource_type)


def test_a_null_property_is_refused_as_fhir_json_never_sends_one() -> None:
    # Found by the fuzzer: "identifier": null reached the ITI-65 builder, which failed with a 500.
    document = bundle()
    entry(document, "List")["identifier"] = None
    with pytest.raises(FhirError) as refused:
        fhir_json.read(json.dumps(document).encode())
    assert refused.value.status == 400
    assert "null" in refused.value.diagnostics


def test_a_null_inside_an_array_is_still_read() -> None:
    # FHIR R4 json.html: an array of primitives holds null where a value has extensions only.
    assert parse_json(b'{"given": ["Chip", null], "_given": [null, {"id": "x"}]}')["given"] == ["Chip", None]


def test_a_contained_resource_of_no_fhir_type_is_a_400_in_iti65() -> None:
    # Found by the fuzzer: the R4 model raised KeyError, not a ValidationError, for it.
    document = bundle()
    entry(document, "DocumentReference")["contained"][0]["resourceType"] = "Q"
    with pytest.raises(FhirError) as refused:
        fhir_json.read(json.dumps(document).encode())
    assert refused.value.status == 400


@pytest.mark.parametrize("contained", [{"resourceType": "Q"}, {"resourceType": 5}])
def test_a_contained_resource_of_no_fhir_type_is_a_400_in_iti104(contained: dict[str, Any]) -> None:
    with pytest.raises(FhirError) as refused:
        patient_checked({"resourceType": "Patient", "contained": [contained]})
    assert refused.value.status == 400


def test_a_submission_date_given_as_a_number_does_not_fail_the_builder() -> None:
    # Found by the fuzzer: the R4 model reads 2026.5 as a dateTime; the builder expected a string.
    document = bundle()
    entry(document, "List")["date"] = 2026.5
    fhir_json.check(json.dumps(document).encode())


@pytest.mark.parametrize("text", ["\\u0000", "\\u001b", "\\ud800", "\\uffff"])
def test_a_control_character_in_a_string_is_refused(text: str) -> None:
    # Found by the fuzzer: lxml refused to write it into the SubmitObjectsRequest (a 500).
    with pytest.raises(FhirError) as refused:
        parse_json(f'{{"resourceType": "Patient", "id": "a{text}b"}}'.encode())
    assert refused.value.status == 400
