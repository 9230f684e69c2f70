"""What every audit builder shares: the codes, the table of transactions, peers, this node."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from audit.records import AuditRecord, AuditSource, Code, Participant, ParticipantObject

# Event IDs, DCM CID 400 (PS3.15 A.5.3).
APPLICATION_ACTIVITY = Code("110100", "DCM", "Application Activity")
AUDIT_LOG_USED = Code("110101", "DCM", "Audit Log Used")
INSTANCES_TRANSFERRED = Code("110104", "DCM", "DICOM Instances Transferred")
EXPORT = Code("110106", "DCM", "Export")
IMPORT = Code("110107", "DCM", "Import")
PATIENT_RECORD = Code("110110", "DCM", "Patient Record")
QUERY = Code("110112", "DCM", "Query")
SECURITY_ALERT = Code("110113", "DCM", "Security Alert")
USER_AUTHENTICATION = Code("110114", "DCM", "User Authentication")

# Active participant roles, DCM CID 402.
APPLICATION_ROLE = Code("110150", "DCM", "Application")
APPLICATION_LAUNCHER_ROLE = Code("110151", "DCM", "Application Launcher")
DESTINATION_ROLE = Code("110152", "DCM", "Destination Role ID")
SOURCE_ROLE = Code("110153", "DCM", "Source Role ID")

# Participant object ID types: RFC 3881 5.5.4 and DCM CID 404.
PATIENT_NUMBER = Code("2", "RFC-3881", "Patient Number")
REPORT_NUMBER = Code("9", "RFC-3881", "Report Number")
URI = Code("12", "RFC-3881", "URI")
STUDY_INSTANCE_UID = Code("110180", "DCM", "Study Instance UID")
NODE_ID = Code("110182", "DCM", "Node ID")
# ITI TF-2b: 3.41.5.1, the submission set is named by its ebRIM classificationNode.
SUBMISSION_SET = Code("urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd", "IHE XDS Metadata",
                      "submission set classificationNode")

# AuditSourceTypeCode 4 (RFC 3881 5.4.3, coded as DCM after CP-1638): the node is an application server.
APPLICATION_SERVER = Code("4", "DCM", "Application Server Process or Thread")

# ParticipantObjectTypeCode and ParticipantObjectTypeCodeRole (PS3.15 A.5.1).
PERSON, SYSTEM_OBJECT = 1, 2
PATIENT, REPORT, MASTER_FILE, SECURITY_RESOURCE, JOB, QUERY_ROLE = 1, 3, 5, 13, 20, 24

OUTCOMES = (0, 4, 8, 12)  # success, minor, serious, major failure

# Every IHE transaction the node audits, with the display text of its EventTypeCode
# (system "IHE Transactions"), as the transactions' audit sections name them.
TRANSACTIONS: dict[str, str] = {
    "ITI-8": "Patient Identity Feed",
    "ITI-9": "PIX Query",
    "ITI-10": "PIX Update Notification",
    "ITI-18": "Registry Stored Query",
    "ITI-21": "Patient Demographics Query",
    "ITI-41": "Provide and Register Document Set-b",
    "ITI-42": "Register Document Set-b",
    "ITI-43": "Retrieve Document Set",
    "ITI-44": "Patient Identity Feed",
    "ITI-45": "PIX Query",
    "ITI-46": "PIX Update Notification",
    "ITI-47": "Patient Demographics Query",
    "ITI-57": "Update Document Set",
    "ITI-62": "Delete Document Set",
    "ITI-65": "Provide Document Bundle",
    "ITI-66": "Find Document Lists",
    "ITI-67": "Find Document References",
    "ITI-68": "Retrieve Document",
    "ITI-78": "Mobile Patient Demographics Query",
    "ITI-81": "Retrieve ATNA Audit Event",
    "ITI-83": "Mobile Patient Identifier Cross-reference Query",
    "ITI-86": "Remove Documents",
    "ITI-104": "Patient Identity Feed FHIR",
    "RAD-68": "Provide and Register Imaging Document Set - MTOM/XOP",
    "RAD-69": "Retrieve Imaging Document Set",
}


@dataclass(frozen=True)
class Peer:
    """Someone taking part, as a handler saw them: an endpoint, MSH-3|MSH-4, an AE title, a person."""

    user_id: str
    host: str = ""  # IP address or machine name: NetworkAccessPointID
    alternative_user_id: str = ""  # this node's own processes: the process id
    user_name: str = ""
    roles: tuple[Code, ...] = ()  # further RoleIDCodes, e.g. a human requestor's XUA roles


def this_node(user_id: str) -> Peer:
    """This process as a participant: ITI TF-2 asks for its process id and machine name."""
    return Peer(user_id=user_id, host=socket.gethostname(), alternative_user_id=str(os.getpid()))


def node_source() -> AuditSource:
    """The AuditSourceIdentification of this node, from settings."""
    # AUDIT_SOURCE_ID (proposed setting) names the node when its AE title should not.
    source_id = settings.AUDIT_SOURCE_ID or settings.DICOM_AE_TITLE
    # The affinity domain's assigning authority is an HL7 HD, 'IHEHIE&1.3.6...&ISO': its
    # universal id is the globally unique name of the enterprise.
    parts = settings.AFFINITY_DOMAIN_AUTHORITY.split("&")
    site = parts[1] if len(parts) == 3 and parts[1] else settings.AFFINITY_DOMAIN_AUTHORITY
    return AuditSource(source_id=source_id, enterprise_site_id=site, type_codes=(APPLICATION_SERVER,))


def transaction_code(transaction: str, allowed: Sequence[str]) -> Code:
    """The EventTypeCode of a transaction, refusing one the calling builder does not describe."""
    if transaction not in allowed:
        raise ValueError(f"{transaction!r} is not audited this way; expected one of {sorted(allowed)}")
    return Code(transaction, "IHE Transactions", TRANSACTIONS[transaction])


def participant(peer: Peer, *, is_requestor: bool, role: Code | None = None) -> Participant:
    return Participant(
        user_id=peer.user_id,
        is_requestor=is_requestor,
        role_id_codes=((role,) if role else ()) + peer.roles,
        alternative_user_id=peer.alternative_user_id,
        user_name=peer.user_name,
        network_access_point_id=peer.host,
        network_access_point_type_code=_access_point_type(peer.host),
    )


def human_requestors(human_requestor: Peer | None) -> tuple[Participant, ...]:
    # ITI TF-2: the human requestor, when known (XUA), is a requestor too, with their roles.
    return (participant(human_requestor, is_requestor=True),) if human_requestor else ()


def patient(patient_id: str, *, details: tuple[tuple[str, bytes], ...] = (),
            name: str = "") -> ParticipantObject:
    """The patient object: the id in HL7 CX form, type person, role patient."""
    return ParticipantObject(object_id=patient_id, type_code=PERSON, type_code_role=PATIENT,
                             id_type_code=PATIENT_NUMBER, details=details, name=name)


def record(*, event_id: Code, action_code: str, outcome: int, source: AuditSource | None,
           event_datetime: datetime | None, event_type_codes: tuple[Code, ...] = (),
           outcome_description: str = "", participants: tuple[Participant, ...] = (),
           objects: tuple[ParticipantObject, ...] = (), purpose_of_use: Sequence[Code] = ()) -> AuditRecord:
    """An AuditRecord with what every builder checks: a known outcome, a timezone, an audit source."""
    if outcome not in OUTCOMES:
        raise ValueError(f"EventOutcomeIndicator {outcome} is none of {OUTCOMES}")
    moment = event_datetime or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("an audit record needs a timezone-aware event_datetime")
    return AuditRecord(
        event_id=event_id, action_code=action_code, event_datetime=moment, outcome=outcome,
        source=source or node_source(), event_type_codes=event_type_codes,
        outcome_description=outcome_description, participants=participants, objects=objects,
        purpose_of_use=tuple(purpose_of_use),
    )


def _access_point_type(host: str) -> int | None:
    # NetworkAccessPointTypeCode: 1 machine name, 2 IP address (PS3.15 A.5.1).
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return 1
    return 2
