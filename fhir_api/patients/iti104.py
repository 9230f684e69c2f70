"""ITI-104 Patient Identity Feed FHIR (PIXm 3.0 ITI TF-2 3.104): conditional update and delete
of a source's Patient, fed to the EMPI as ITI-8 feeds it."""

from __future__ import annotations

from typing import Any

from audit.edges import not_theirs
from empi import selectors, services
from empi.errors import UnknownRecord
from empi.models import Person
from fhir_api import audit
from fhir_api.errors import FhirError, bad_request, not_found
from fhir_api.identity import authority_of
from fhir_api.patients.resource import demographics_of, patient_checked, patient_of, raw_of
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import Search
from organisations.models import AssigningAuthority
from organisations.selectors import foreign_authorities

TRANSACTION = "ITI-104"


def patient_feed_update(request: FhirRequest) -> FhirResponse:
    """ITI TF-2 3.104.4.1 "add or revise" (201 for a new record, 200 for a revised one), and
    3.104.4.1.2.2 "resolve duplicate": an inactive Patient replaced-by the surviving identifier."""
    authority, identifier = _conditional(request)
    patient = patient_checked(request.body)
    identifiers = _known_identifiers(patient)
    if (authority.pk, identifier) not in {(a.pk, value) for a, value in identifiers}:
        raise bad_request("the Patient's identifiers must include the one of the identifier parameter",
                          expression="Patient.identifier")
    surviving = _replaced_by(patient)
    named = [authority, *(a for a, _ in identifiers), *([surviving[0]] if surviving else [])]
    _held_to_client(request, named)
    if surviving is not None:
        return _merge(request, subsumed=(authority, identifier), surviving=surviving, patient=patient)
    results = services.patient_feed(
        identifiers=identifiers, demographics=demographics_of(patient), raw=raw_of(patient),
        source=request.client.client_id, source_host=request.client.host, transaction_name=TRANSACTION)
    fed = next(r for r in results
               if r.record.authority_id == authority.pk and r.record.identifier == identifier)
    return _answer(request, selectors.person_current(fed.person), status=201 if fed.created else 200)


def patient_feed_delete(request: FhirRequest) -> FhirResponse:
    """ITI TF-2 3.104.4.1: the source withdraws the record of the identifier parameter."""
    authority, identifier = _conditional(request)
    _held_to_client(request, [authority])
    try:
        services.record_remove(authority=authority, identifier=identifier, source=request.client.client_id,
                               source_host=request.client.host, transaction_name=TRANSACTION)
    except UnknownRecord:
        raise not_found(f"no patient {identifier} in {authority.universal_id}") from None
    return FhirResponse(status=204)


def _merge(request: FhirRequest, *, subsumed: tuple[AssigningAuthority, str],
           surviving: tuple[AssigningAuthority, str], patient: dict[str, Any]) -> FhirResponse:
    try:
        survivor = services.person_merge(
            surviving_authority=surviving[0], surviving_identifier=surviving[1],
            subsumed_authority=subsumed[0], subsumed_identifier=subsumed[1],
            source=request.client.client_id, source_host=request.client.host,
            transaction_name=TRANSACTION)
    except UnknownRecord:
        raise not_found(f"no patient {subsumed[1]} in {subsumed[0].universal_id} to merge") from None
    return _answer(request, survivor, status=200)


def _answer(request: FhirRequest, person: Person, *, status: int) -> FhirResponse:
    records = selectors.records_of_persons(person_ids=[person.pk])[person.pk]
    return FhirResponse(status=status, resource=patient_of(person, records),
                        headers={"Location": f"{request.base}/Patient/{person.pk}"})


def _conditional(request: FhirRequest) -> tuple[AssigningAuthority, str]:
    """`?identifier=urn:oid:<OID>|<value>`: exactly one, with a system the domain knows."""
    tokens = [token for group in Search(request).tokens("identifier") for token in group]
    if len(tokens) != 1 or not tokens[0].system or not tokens[0].code:
        raise bad_request("ITI-104 names its patient once: ?identifier=urn:oid:<OID>|<value>",
                          expression="identifier")
    authority = authority_of(tokens[0].system)
    if authority is None:
        raise bad_request(f"identifier: the assigning authority {tokens[0].system} is not known",
                          code="code-invalid", expression="identifier")
    return authority, tokens[0].code


def _held_to_client(request: FhirRequest, authorities: list[AssigningAuthority]) -> None:
    """The client's organisation feeds under its own assigning authorities only (ITI TF-2
    3.104.4.1.3: a source feeds its own domain): another's is 403 and a Security Alert."""
    foreign = foreign_authorities(organisation=request.client.organisation, authorities=authorities)
    if foreign:
        detail = (f"the assigning authority {foreign[0].universal_id} belongs to another organisation; "
                  "a source feeds under its own")
        not_theirs(transaction=TRANSACTION, organisation=request.client.organisation,
                   performer=audit.sender(request), detail=detail)
        raise FhirError(403, detail, code="forbidden", expression="Patient.identifier")


def _known_identifiers(patient: dict[str, Any]) -> list[tuple[AssigningAuthority, str]]:
    """The Patient's identifiers in domains the node knows; others are ignored, as ITI-8 ignores
    a PID-3 repetition of an unknown authority (ITI TF-2a 3.8.4.1.3)."""
    found: list[tuple[AssigningAuthority, str]] = []
    for given in patient.get("identifier", []):
        authority = authority_of(given.get("system", "")) if given.get("value") else None
        if authority is not None and (authority, given["value"]) not in found:
            found.append((authority, given["value"]))
    return found


def _replaced_by(patient: dict[str, Any]) -> tuple[AssigningAuthority, str] | None:
    """ITI TF-2 3.104.4.1.2.2: active false and link replaced-by {identifier} names the survivor."""
    if patient.get("active") is not False:
        return None
    for link in patient.get("link", []):
        if link.get("type") != "replaced-by":
            continue
        other = link.get("other", {}).get("identifier", {})
        authority = authority_of(other.get("system", ""))
        if authority is None or not other.get("value"):
            raise bad_request("link replaced-by needs the surviving identifier, in a domain the node "
                              "knows: other.identifier {system, value}", code="code-invalid",
                              expression="Patient.link.other.identifier")
        return authority, other["value"]
    return None
