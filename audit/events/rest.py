"""Audit records of FHIR RESTful interactions no IHE transaction describes, in the style of
IHE Basic Audit Log Patterns (BALP 1.1 3.5.x): the event is a RESTful operation, its type the
FHIR interaction (search-type, read, ...), the object the resource or the query URL."""

from __future__ import annotations

from collections.abc import Sequence

from audit.events.common import (
    DESTINATION_ROLE,
    QUERY_ROLE,
    REPORT,
    SOURCE_ROLE,
    SYSTEM_OBJECT,
    URI,
    Peer,
    participant,
    patient,
    record,
)
from audit.records import AuditRecord, Code, ParticipantObject

REST = Code("rest", "http://terminology.hl7.org/CodeSystem/audit-event-type", "RESTful Operation")
INTERACTION_SYSTEM = "http://hl7.org/fhir/restful-interaction"
# BALP: the AuditEvent.action of each interaction (FHIR R4 valueset-audit-event-action).
_ACTIONS = {"search-type": "E", "search-system": "E", "operation": "E", "read": "R", "vread": "R",
            "create": "C", "update": "U", "patch": "U", "delete": "D", "transaction": "E"}


def rest_interaction(*, interaction: str, sender: Peer, receiver: Peer, url: str,
                     resource: str = "", patient_ids: Sequence[str] = (), outcome: int = 0,
                     outcome_description: str = "") -> AuditRecord:
    """`url` is the request as received; `resource` the `Type/id` read or written, if one."""
    if interaction not in _ACTIONS:
        raise ValueError(f"{interaction!r} is not a FHIR RESTful interaction")
    searched = _ACTIONS[interaction] == "E"
    target = ParticipantObject(
        object_id=resource or url, type_code=SYSTEM_OBJECT,
        type_code_role=QUERY_ROLE if searched else REPORT, id_type_code=URI,
        query=url.encode() if searched else None)
    return record(
        event_id=REST, action_code=_ACTIONS[interaction], outcome=outcome,
        outcome_description=outcome_description,
        event_type_codes=(Code(interaction, INTERACTION_SYSTEM, interaction),),
        participants=(participant(sender, is_requestor=True, role=SOURCE_ROLE),
                      participant(receiver, is_requestor=False, role=DESTINATION_ROLE)),
        objects=(*(patient(pid) for pid in patient_ids), target), source=None, event_datetime=None)
