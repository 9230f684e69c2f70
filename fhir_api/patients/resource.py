"""EMPI persons as FHIR Patient resources, and a FHIR Patient as the demographics the EMPI feeds.

The resource follows the PDQm 3.0 and PIXm 3.0 Patient profiles: the person's enterprise ID
(`official`) and every current source identifier linked to it (`usual`), with the demographics
of the most recently fed record, as its feed sent them when it was a FHIR feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from empi.matching.record import Demographics, demographics
from empi.models import PatientRecord, Person
from fhir_api.errors import bad_request
from fhir_api.identity import system_of

# HL7 table 0001 and FHIR R4 administrative-gender.
GENDER_OF_SEX = {"F": "female", "M": "male", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
SEX_OF_GENDER = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
MOTHERS_MAIDEN_NAME = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
# What of a FHIR feed's Patient is kept with the record, as sent (like a v2 feed's PID fields).
RAW_FIELDS = ("name", "gender", "birthDate", "address", "telecom", "extension")


def patient_of(person: Person, records: Sequence[PatientRecord], *,
               survivor: Person | None = None) -> dict[str, Any]:
    """`person` as a Patient; `records` its current ones, the most recently fed first. A person
    merged away is inactive and names its survivor (FHIR R4 patient.html: link replaced-by)."""
    resource: dict[str, Any] = {"resourceType": "Patient", "id": str(person.pk),
                                "identifier": _identifiers(person, records)}
    if survivor is not None:
        resource["active"] = False
        resource["link"] = [{"other": {"reference": f"Patient/{survivor.pk}"}, "type": "replaced-by"}]
        return resource
    resource["active"] = True
    if records:
        resource.update(_demographics_of(records[0]))
    return resource


def _identifiers(person: Person, records: Sequence[PatientRecord]) -> list[dict[str, str]]:
    value, _, rest = person.enterprise_id.partition("^^^")
    parts = rest.split("&")
    oid = parts[1] if len(parts) >= 2 else ""
    found = [{"use": "official", "system": system_of(oid), "value": value}]
    seen = {(oid, value)}
    for record in records:
        key = (record.authority.universal_id, record.identifier)
        if key not in seen:
            seen.add(key)
            found.append({"use": "usual", "system": system_of(key[0]), "value": key[1]})
    return found


def _demographics_of(record: PatientRecord) -> dict[str, Any]:
    raw = record.raw or {}
    if raw.get("resourceType") == "Patient":
        return {key: raw[key] for key in RAW_FIELDS if raw.get(key)}
    found: dict[str, Any] = {}
    name: dict[str, Any] = {}
    if record.family:
        name["family"] = record.family
    given = [g for g in (record.given, *record.middle.split()) if g]
    if given:
        name["given"] = given
    if name:
        found["name"] = [{"use": "official", **name}]
    if record.sex in GENDER_OF_SEX:
        found["gender"] = GENDER_OF_SEX[record.sex]
    if len(record.birth_date) == 8:
        found["birthDate"] = f"{record.birth_date[:4]}-{record.birth_date[4:6]}-{record.birth_date[6:]}"
    address: dict[str, Any] = {k: v for k, v in (("city", record.city), ("postalCode", record.postcode)) if v}
    if record.street:
        address["line"] = [record.street]
    if address:
        found["address"] = [address]
    if record.phone:
        found["telecom"] = [{"system": "phone", "value": record.phone}]
    if record.mothers_maiden_name:
        found["extension"] = [{"url": MOTHERS_MAIDEN_NAME, "valueString": record.mothers_maiden_name}]
    return found


def patient_checked(body: Any) -> dict[str, Any]:
    """ITI TF-2 3.104.4.1.2: the body must be a Patient that the R4 model reads; 400 otherwise."""
    if not isinstance(body, dict) or body.get("resourceType") != "Patient":
        raise bad_request("the body must be a Patient resource", expression="Patient")
    try:
        get_fhir_model_class("Patient").model_validate(body)
    except ValidationError as problem:
        errors = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in problem.errors()[:5])
        raise bad_request(f"the Patient is not valid FHIR R4: {errors}"[:1000], code="structure") from None
    except (KeyError, TypeError):
        # fhir.resources raises these, not a ValidationError, for a contained resource whose
        # resourceType is not a FHIR type (or not a string).
        raise bad_request("the Patient is not valid FHIR R4: a resource in it has no FHIR resourceType",
                          code="structure") from None
    return body


def raw_of(patient: dict[str, Any]) -> dict[str, Any]:
    """The fields of the Patient the record keeps as sent."""
    return {"resourceType": "Patient", **{key: patient[key] for key in RAW_FIELDS if patient.get(key)}}


def demographics_of(patient: dict[str, Any]) -> Demographics:
    """ITI TF-2 3.104.4.1.2 onto the matcher's fields (ITI TF-2a 3.8.4.1.2.3): the official
    name (else the first), the first address, the first phone."""
    names = [n for n in patient.get("name", []) if n.get("family") or n.get("given")]
    legal = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = list(legal.get("given", []))
    other_family = tuple(n["family"] for n in names
                         if n is not legal and n.get("family") and n.get("family") != legal.get("family"))
    addresses = patient.get("address", [])
    address = addresses[0] if addresses else {}
    phone = next((t.get("value", "") for t in patient.get("telecom", []) if t.get("system") == "phone"), "")
    mothers = next((e.get("valueString", "") for e in patient.get("extension", [])
                    if e.get("url") == MOTHERS_MAIDEN_NAME), "")
    return demographics(
        given=given[0] if given else "", middle=" ".join(given[1:]), family=legal.get("family", ""),
        birth_date=patient.get("birthDate", "").replace("-", ""),
        sex=SEX_OF_GENDER.get(patient.get("gender", ""), ""),
        street=" ".join(address.get("line", [])), city=address.get("city", ""),
        postcode=address.get("postalCode", ""), phone=phone, mothers_maiden_name=mothers,
        other_family=other_family)
