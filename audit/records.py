"""Audit records as plain data: what happened, who took part, what it touched.

The shape is DICOM PS3.15 A.5.1 (RFC 3881 lineage). Nothing here knows XML or Django: the
transaction code builds an `AuditRecord` with the builders of `audit.events`, the service
`audit.services.record` stores it, and `audit.messages` writes it as an AuditMessage.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Code:
    """A coded value: csd-code, codeSystemName, originalText (PS3.15 A.5.1, CodedValueType)."""

    code: str
    system_name: str
    display_name: str = ""


@dataclass(frozen=True)
class Participant:
    """An ActiveParticipant: a user, a process or a node taking part in the event."""

    user_id: str
    is_requestor: bool
    role_id_codes: tuple[Code, ...] = ()
    alternative_user_id: str = ""
    user_name: str = ""
    network_access_point_id: str = ""
    # 1 machine name, 2 IP address (PS3.15 A.5.1, NetworkAccessPointTypeCode)
    network_access_point_type_code: int | None = None


@dataclass(frozen=True)
class ParticipantObject:
    """A ParticipantObjectIdentification: a patient, a document, a submission set, a query."""

    object_id: str
    type_code: int  # 1 person, 2 system object, 3 organisation, 4 other
    id_type_code: Code
    type_code_role: int | None = None
    data_life_cycle: int | None = None
    name: str = ""
    query: bytes | None = None  # written base64-encoded in ParticipantObjectQuery
    details: tuple[tuple[str, bytes], ...] = ()  # ParticipantObjectDetail type and raw value
    # Free text. DICOM 2017c has no text ParticipantObjectDescription (it is the structured
    # element below), so audit.messages writes this as a ParticipantObjectDetail.
    description: str = ""
    # PS3.15 A.5.3.7, a study: (SOP Class UID, NumberOfInstances) pairs and accession numbers,
    # written inside ParticipantObjectDescription as SOPClass and Accession.
    sop_classes: tuple[tuple[str, int], ...] = ()
    accession_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditSource:
    """AuditSourceIdentification: the node that writes the record."""

    source_id: str
    enterprise_site_id: str = ""
    type_codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class AuditRecord:
    event_id: Code
    action_code: str  # C, R, U, D, E (PS3.15 A.5.1, EventActionCode)
    event_datetime: datetime  # timezone-aware
    outcome: int  # 0 success, 4 minor failure, 8 serious failure, 12 major failure
    source: AuditSource
    event_type_codes: tuple[Code, ...] = ()
    outcome_description: str = ""
    participants: tuple[Participant, ...] = ()
    objects: tuple[ParticipantObject, ...] = ()
    purpose_of_use: tuple[Code, ...] = field(default=())

    @property
    def transaction(self) -> str:
        """The IHE transaction (`ITI-18`) or DICOM service the record is about, if any."""
        for code in self.event_type_codes:
            if code.system_name == "IHE Transactions":
                return code.code
        return ""

    @property
    def patient_ids(self) -> list[str]:
        return [o.object_id for o in self.objects if o.type_code == 1 and o.type_code_role == 1]

    @property
    def requestor(self) -> Participant | None:
        return next((p for p in self.participants if p.is_requestor), None)


def to_json(record: AuditRecord) -> dict[str, Any]:
    """A JSON-ready dict, stable for hashing: bytes as base64, datetimes as ISO 8601."""
    return _encode(asdict(record))


def from_json(data: dict[str, Any]) -> AuditRecord:
    def code(d: dict[str, Any]) -> Code:
        return Code(**d)

    return AuditRecord(
        event_id=code(data["event_id"]),
        action_code=data["action_code"],
        event_datetime=datetime.fromisoformat(data["event_datetime"]),
        outcome=data["outcome"],
        source=AuditSource(source_id=data["source"]["source_id"],
                           enterprise_site_id=data["source"]["enterprise_site_id"],
                           type_codes=tuple(code(c) for c in data["source"]["type_codes"])),
        event_type_codes=tuple(code(c) for c in data["event_type_codes"]),
        outcome_description=data["outcome_description"],
        participants=tuple(
            Participant(**{**p, "role_id_codes": tuple(code(c) for c in p["role_id_codes"])})
            for p in data["participants"]),
        objects=tuple(
            ParticipantObject(**{
                **o,
                "id_type_code": code(o["id_type_code"]),
                "query": base64.b64decode(o["query"]) if o["query"] is not None else None,
                "details": tuple((t, base64.b64decode(v)) for t, v in o["details"]),
                # .get: records stored before these fields existed
                "sop_classes": tuple((uid, n) for uid, n in o.get("sop_classes", ())),
                "accession_numbers": tuple(o.get("accession_numbers", ())),
            }) for o in data["objects"]),
        purpose_of_use=tuple(code(c) for c in data["purpose_of_use"]),
    )


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    return value
