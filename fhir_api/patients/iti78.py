"""ITI-78 Mobile Patient Demographics Query (PDQm 3.0 ITI TF-2 3.78): Patient search and read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db import transaction

from empi import selectors, selectors_pdq
from empi.selectors_pdq import IdentifierCriterion, PdqCriteria
from fhir_api import audit, bundle
from fhir_api.errors import bad_request, not_found
from fhir_api.identity import authority_of
from fhir_api.patients.resource import SEX_OF_GENDER, patient_of
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import Search, StringValue, row_key

# PDQm string parameters (ITI TF-2 3.78.4.1.2.1) and the criterion each one sets.
_STRINGS = {"family": "family", "given": "given", "address-city": "city",
            "address-postalcode": "postcode", "mothersMaidenName": "mothers_maiden_name",
            "address": "address_any"}


def find_patients(request: FhirRequest) -> FhirResponse:
    """ITI TF-2 3.78.4.2.2: a searchset of the persons matching every parameter, one entry each."""
    search = Search(request)
    criteria = _criteria(search)
    ids = _ids(search)
    region = {"state": _single(search, "address-state"), "country": _single(search, "address-country")}
    if criteria.is_empty() and ids is None and not any(region.values()) and not search.has("active"):
        raise bad_request("a Patient search needs at least one search parameter")
    with transaction.atomic():
        if criteria.is_empty() and ids is not None:
            person_ids = sorted(selectors_pdq.persons_current(person_ids=sorted(ids)))
        else:
            person_ids = selectors_pdq.pdq_search(criteria=criteria)
            if ids is not None:
                person_ids = [pk for pk in person_ids if pk in ids]
        if any(region.values()):
            person_ids = selectors_pdq.persons_in_region(person_ids=person_ids, **region)
        if _inactive_only(search):
            person_ids = []  # a person merged away is never a match: only active ones are found
        page = person_ids[search.offset:search.offset + search.count]
        records = selectors.records_of_persons(person_ids=page)
        persons = selectors.persons_by_pk(person_ids=page)
        resources = [patient_of(persons[pk], records[pk]) for pk in page if pk in persons]
        audit.queried(request, patient_ids=[persons[pk].enterprise_id for pk in page if pk in persons])
    return FhirResponse(resource=bundle.searchset(request, search, resources=resources,
                                                  total=len(person_ids)))


def read_patient(request: FhirRequest) -> FhirResponse:
    """ITI TF-2 3.78.4.3: the person of the id asked for; one merged away is inactive and links
    to the survivor (FHIR R4 patient.html, Patient.link replaced-by)."""
    key = request.resource_id
    row = row_key(key)
    person = selectors.person_get(row) if row is not None else None
    if person is None:
        raise not_found(f"Patient/{key} is not known")
    with transaction.atomic():
        survivor = selectors.person_current(person) if person.merged_into_id is not None else None
        records = selectors.records_of_persons(person_ids=[person.pk])[person.pk]
        resource = patient_of(person, records, survivor=survivor)
        audit.queried(request, patient_ids=[person.enterprise_id])
    return FhirResponse(resource=resource)


def _criteria(search: Search) -> PdqCriteria:
    values: dict[str, Any] = {}
    for parameter, field in _STRINGS.items():
        value = _string(search, parameter)
        if value:
            values[field] = value
    gender = _single(search, "gender").rpartition("|")[2]
    if gender:
        if gender not in SEX_OF_GENDER:
            raise bad_request(f"gender: {gender!r} is not in administrative-gender", code="code-invalid",
                              expression="gender")
        values["sex"] = SEX_OF_GENDER[gender]
    telecom = _single(search, "telecom")
    if telecom:
        values["phone"] = telecom.partition("|")[2] if "|" in telecom else telecom
    criteria = replace(PdqCriteria(), **values)
    criteria = _birth_dates(search, criteria)
    if criteria.phone and not any(c.isdigit() for c in criteria.phone):
        criteria = replace(criteria, impossible=True)  # only phone numbers are kept
    return _identifiers(search, criteria)


def _identifiers(search: Search, criteria: PdqCriteria) -> PdqCriteria:
    """ITI TF-2 3.78.4.1.2.1 `identifier=system|value`, repeated for AND. A system the domain does
    not know can match nobody: the answer is an empty searchset, as ITI-21 answers NF."""
    resolved: list[IdentifierCriterion] = []
    for group in search.tokens("identifier"):
        if len(group) != 1:
            raise bad_request("identifier: one value per parameter (repeat it for AND)",
                              code="not-supported", expression="identifier")
        token = group[0]
        if not token.code:
            raise bad_request("identifier needs a value: system|value", expression="identifier")
        authority = authority_of(token.system) if token.system else None
        if token.system and authority is None:
            return replace(criteria, impossible=True)
        resolved.append(IdentifierCriterion(identifier=token.code, authority=authority))
    return replace(criteria, identifiers=tuple(resolved))


def _birth_dates(search: Search, criteria: PdqCriteria) -> PdqCriteria:
    """birthdate with eq, ge, gt, le, lt... (FHIR R4 search.html 3.1.1.5.9): each AND narrows."""
    low, high = "", ""
    for group in search.dates("birthdate"):
        if len(group) != 1:
            raise bad_request("birthdate: one value per parameter (repeat it for AND)",
                              code="not-supported", expression="birthdate")
        after, before = group[0].low, group[0].high
        if after is not None:
            low = max(low, after.strftime("%Y%m%d"))
        if before is not None:
            text = before.strftime("%Y%m%d")
            high = min(high, text) if high else text
    return replace(criteria, birth_after=low, birth_before=high)


def _ids(search: Search) -> set[int] | None:
    if not search.has("_id"):
        return None
    wanted: set[int] | None = None
    for group in search.tokens("_id"):
        keys = {k for t in group if (k := row_key(t.code)) is not None}
        wanted = keys if wanted is None else wanted & keys
    return wanted or set()


def _inactive_only(search: Search) -> bool:
    values = {t.code for group in search.tokens("active") for t in group}
    if values - {"true", "false"}:
        raise bad_request("active is true or false", code="code-invalid", expression="active")
    return bool(values) and "true" not in values


def _string(search: Search, name: str) -> str:
    """A FHIR string parameter as a PDQ criterion: starts-with (`*`) unless :exact (search.html
    3.1.1.5.13); case and accents are folded either way, as the EMPI keeps names."""
    groups = search.strings(name)
    if not groups:
        return ""
    if len(groups) != 1 or len(groups[0]) != 1:
        raise bad_request(f"{name}: one value, once", code="not-supported", expression=name)
    value: StringValue = groups[0][0]
    if value.contains:
        raise bad_request(f"{name}: :contains is not supported", code="not-supported", expression=name)
    return value.value.rstrip("*") if value.exact else f"{value.value.rstrip('*')}*"


def _single(search: Search, name: str) -> str:
    groups = search.raw(name)
    if not groups:
        return ""
    if len(groups) != 1 or "," in groups[0][1]:
        raise bad_request(f"{name}: one value, once", code="not-supported", expression=name)
    return groups[0][1]
