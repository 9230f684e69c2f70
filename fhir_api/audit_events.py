"""RESTful ATNA, ITI-81 Retrieve ATNA Audit Event (ITI TF-2 3.81): the local audit repository
searched and read as FHIR R4 AuditEvent resources.

Each stored record (DICOM PS3.15 A.5) is mapped as FHIR R4 auditevent-mappings.html's "dicom"
column says. The id of an AuditEvent is the key of its row. A search's own record is written
after it searched: it shows in the next search, not in its own answer.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from audit.records import AuditRecord, Code, Participant, ParticipantObject, from_json
from audit.selectors import TRANSACTIONS_SYSTEM, EventCriteria, audit_event_get, audit_events_find
from fhir_api import audit
from fhir_api.bundle import searchset
from fhir_api.errors import not_found
from fhir_api.identity import cx_of_token
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import Search, Token, row_key

DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE_CODE = "urn:ihe:event-type-code"  # IHE's system of EventTypeCode (the transaction)
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
# codeSystemName as stored -> the FHIR system; other names are kept as they are.
_SYSTEMS = {"DCM": DCM, TRANSACTIONS_SYSTEM: EVENT_TYPE_CODE}
_STORED = {fhir: stored for stored, fhir in _SYSTEMS.items()}


def find_audit_events(request: FhirRequest) -> FhirResponse:
    search = Search(request)
    criteria = _criteria(search)
    events, total = audit_events_find(criteria=criteria, offset=search.offset, limit=search.count)
    resources = [audit_event(event.pk, from_json(event.record)) for event in events]
    # ITI TF-2 3.81.5.1: audited as a Query, naming the patient searched for.
    audit.queried(request, patient_ids=sorted({cx for group in criteria.patient_ids for cx in group}))
    return FhirResponse(resource=searchset(request, search, resources=resources, total=total))


def read_audit_event(request: FhirRequest) -> FhirResponse:
    event = audit_event_get(key) if (key := row_key(request.resource_id)) is not None else None
    if event is None:
        raise not_found(f"AuditEvent/{request.resource_id} is not known here")
    record = from_json(event.record)
    audit.queried(request, patient_ids=record.patient_ids)
    return FhirResponse(resource=audit_event(event.pk, record))


def audit_event(pk: int, record: AuditRecord) -> dict[str, Any]:
    """A stored record as an AuditEvent (FHIR R4 auditevent-mappings.html, DICOM)."""
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": str(pk),
        "type": _coding(record.event_id),
        "subtype": [_coding(c) for c in record.event_type_codes],
        "action": record.action_code,
        "recorded": _recorded(record.event_datetime),
        "outcome": str(record.outcome),
        "outcomeDesc": record.outcome_description,
        "purposeOfEvent": [{"coding": [_coding(c)]} for c in record.purpose_of_use],
        # FHIR asks for at least one agent; a record without participants names nobody.
        "agent": [_agent(p) for p in record.participants] or [{"requestor": False}],
        "source": _source(record),
        "entity": [_entity(o) for o in record.objects],
    }
    return _pruned(resource)


def _coding(code: Code) -> dict[str, str]:
    return _pruned({"system": _SYSTEMS.get(code.system_name, code.system_name), "code": code.code,
                    "display": code.display_name})


def _agent(participant: Participant) -> dict[str, Any]:
    roles = [{"coding": [_coding(c)]} for c in participant.role_id_codes]
    network = {}
    if participant.network_access_point_id:
        network = {"address": participant.network_access_point_id}
        if participant.network_access_point_type_code is not None:
            network["type"] = str(participant.network_access_point_type_code)
    return _pruned({
        # The first RoleIDCode is the participant's role in the event (DCM CID 402), the
        # others its further roles (a requestor's XUA roles).
        "type": roles[0] if roles else None,
        "role": roles[1:],
        "who": {"identifier": {"value": participant.user_id}} if participant.user_id else None,
        "altId": participant.alternative_user_id,
        "name": participant.user_name,
        "requestor": participant.is_requestor,
        "network": network,
    })


def _source(record: AuditRecord) -> dict[str, Any]:
    source = record.source
    # AuditSourceTypeCode 1-9 (RFC 3881 5.4.3) is FHIR's security-source-type, whatever its name.
    types = [{"system": SOURCE_TYPE, "code": c.code, "display": c.display_name} if c.code.isdigit()
             else _coding(c) for c in source.type_codes]
    return _pruned({"site": source.enterprise_site_id, "observer": {"display": source.source_id},
                    "type": [_pruned(t) for t in types]})


def _entity(obj: ParticipantObject) -> dict[str, Any]:
    identifier = _pruned({"type": {"coding": [_coding(obj.id_type_code)]}, "value": obj.object_id})
    return _pruned({
        "what": {"identifier": identifier},
        "type": {"system": ENTITY_TYPE, "code": str(obj.type_code)},
        "role": {"system": OBJECT_ROLE, "code": str(obj.type_code_role)} if obj.type_code_role else None,
        "lifecycle": {"system": LIFECYCLE, "code": str(obj.data_life_cycle)} if obj.data_life_cycle else None,
        # FHIR R4 sev-1: a name or a query, not both; as in the DICOM message, the query wins.
        "name": obj.name if obj.query is None else "",
        "description": obj.description,
        "query": _base64(obj.query) if obj.query is not None else None,
        "detail": [{"type": kind, "valueBase64Binary": _base64(value)} for kind, value in obj.details],
    })


def _criteria(search: Search) -> EventCriteria:
    """ITI TF-2 3.81.4.1.2: the search parameters, as columns and keys of the stored records."""
    criteria = EventCriteria()
    for tokens in search.tokens("_id"):
        criteria.pks.append([key for t in tokens if (key := row_key(t.code)) is not None])
    for ranges in search.dates("date"):
        criteria.periods.append([(r.low, r.high) for r in ranges])
    for tokens in search.tokens("patient.identifier"):
        criteria.patient_ids.append([cx_of_token(t, expression="patient.identifier") for t in tokens])
    for tokens in search.tokens("entity-id"):
        criteria.object_ids.append([_object_id(t) for t in tokens])
    for references in search.references("entity"):
        criteria.object_ids.append(references)
    for tokens in search.tokens("outcome"):
        criteria.outcomes.append([int(t.code) for t in tokens if t.code in ("0", "4", "8", "12")])
    for tokens in search.tokens("type"):
        criteria.event_ids.append([_stored(t) for t in tokens])
    for tokens in search.tokens("subtype"):
        criteria.event_types.append([_stored(t) for t in tokens])
    for tokens in search.tokens("source"):
        criteria.source_ids.append([t.code for t in tokens])
    for strings in search.strings("address"):
        criteria.addresses.append([(_how(s.exact, s.contains), s.value) for s in strings])
    for values in search.uris("agent"):  # the requestor's user id, as sent (no reference of ours names it)
        criteria.user_ids.append(values)
    for tokens in search.tokens("altid"):
        criteria.alternative_user_ids.append([t.code for t in tokens])
    return criteria


def _object_id(token: Token) -> str:
    """An entity's id: a patient's, given as `urn:oid:<authority>|<id>`, is the CX it is stored as."""
    if token.system and token.system.startswith("urn:oid:"):
        return cx_of_token(token, expression="entity-id")
    return token.code


def _how(exact: bool, contains: bool) -> str:
    return "exact" if exact else "contains" if contains else "startswith"


def _stored(token: Token) -> tuple[str | None, str]:
    if token.system is None:
        return None, token.code
    return _STORED.get(token.system, token.system), token.code


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _pruned(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in ("", None, [], {})}


def _recorded(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

