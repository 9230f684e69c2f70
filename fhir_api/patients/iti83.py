"""ITI-83 Mobile Patient Identifier Cross-reference Query (PIXm 3.0 ITI TF-2 3.83): $ihe-pix."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from empi import selectors
from fhir_api import audit
from fhir_api.errors import FhirError, bad_request, not_found
from fhir_api.identity import authority_of, cx, system_of
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import Search
from organisations.models import AssigningAuthority


def ihe_pix(request: FhirRequest) -> FhirResponse:
    """ITI TF-2 3.83.4.2.2: a Parameters with a `targetIdentifier` per cross-referenced identifier
    and a `targetId` for the patient; empty when the patient has none in the domains asked for."""
    search = Search(request)
    given = [token for group in search.tokens("sourceIdentifier") for token in group]
    if len(given) != 1:
        raise bad_request("sourceIdentifier is required, once: sourceIdentifier=urn:oid:<OID>|<id>",
                          expression="sourceIdentifier")
    source = given[0]
    if not source.system or not source.code:
        raise bad_request("sourceIdentifier needs a system and a value: urn:oid:<OID>|<id>",
                          expression="sourceIdentifier")
    authority = authority_of(source.system)
    if authority is None:
        # ITI TF-2 3.83.4.2.3, case 3: the source domain is not recognised.
        raise bad_request(f"sourceIdentifier: the assigning authority {source.system} is not known",
                          code="code-invalid", expression="sourceIdentifier")
    domains = _target_domains(search)
    with transaction.atomic():
        person = selectors.person_of_identifier(authority=authority, identifier=source.code)
        if person is None:
            # ITI TF-2 3.83.4.2.3, case 2: the patient is not known in the source domain.
            raise not_found(f"sourceIdentifier: no patient {source.code} in {source.system}")
        found = selectors.cross_references(authority=authority, identifier=source.code, domains=domains)
        audit.queried(request, patient_ids=[cx(source.code, authority.universal_id)])
    return FhirResponse(resource=_parameters(found, person.pk))


def _target_domains(search: Search) -> list[AssigningAuthority] | None:
    """ITI TF-2 3.83.4.1.2.2: targetSystem may repeat; a domain not known is 403 (3.83.4.2.3 case 4)."""
    systems = [system for group in search.uris("targetSystem") for system in group]
    domains: list[AssigningAuthority] = []
    for system in systems:
        authority = authority_of(system)
        if authority is None:
            raise FhirError(403, f"targetSystem: the assigning authority {system} is not known",
                            code="code-invalid", expression="targetSystem")
        domains.append(authority)
    return domains or None


def _parameters(found: list[tuple[AssigningAuthority, str]], person_pk: int) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "targetIdentifier",
         "valueIdentifier": {"use": "official" if authority.is_affinity_domain else "usual",
                             "system": system_of(authority.universal_id), "value": identifier}}
        for authority, identifier in found]
    if parameters:
        parameters.append({"name": "targetId", "valueReference": {"reference": f"Patient/{person_pk}"}})
    resource: dict[str, Any] = {"resourceType": "Parameters"}
    if parameters:
        resource["parameter"] = parameters
    return resource
