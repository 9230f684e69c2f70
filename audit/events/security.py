"""Audit records of the node's own security life: logins, alerts, starting and stopping."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from audit.events.common import (
    APPLICATION_ACTIVITY,
    APPLICATION_LAUNCHER_ROLE,
    APPLICATION_ROLE,
    AUDIT_LOG_USED,
    NODE_ID,
    SECURITY_ALERT,
    SECURITY_RESOURCE,
    SYSTEM_OBJECT,
    URI,
    USER_AUTHENTICATION,
    Peer,
    node_source,
    participant,
    record,
    this_node,
)
from audit.records import AuditRecord, AuditSource, Code, ParticipantObject

# Security alert types, DCM CID 403 (EventTypeCode of a Security Alert).
SECURITY_ALERT_TYPES: dict[str, str] = {
    "110126": "Node Authentication",
    "110127": "Emergency Override Started",
    "110128": "Network Configuration",
    "110129": "Security Configuration",
    "110130": "Hardware Configuration",
    "110131": "Software Configuration",
    "110132": "Use of Restricted Function",
    "110133": "Audit Recording Stopped",
    "110134": "Audit Recording Started",
    "110135": "Object Security Attributes Changed",
    "110136": "Security Roles Changed",
    "110137": "User Security Attributes Changed",
    "110138": "Emergency Override Stopped",
    "110139": "Remote Service Operation Started",
    "110140": "Remote Service Operation Stopped",
    "110141": "Local Service Operation Started",
    "110142": "Local Service Operation Stopped",
}
# A refused TLS handshake, an unknown or revoked certificate (ITI TF-2: 3.19, node authentication).
NODE_AUTHENTICATION = "110126"
# Hostile or malformed input (entity expansion, an oversized or unparseable message): CID 403 has
# no closer code than a peer trying to make the node do what it refuses to do.
USE_OF_RESTRICTED_FUNCTION = "110132"
# Certificates, trusted organisations, access settings changed by an operator.
SECURITY_CONFIGURATION = "110129"
# Where the node's peers are (DICOM nodes, PIX consumers) changed by an operator.
NETWORK_CONFIGURATION = "110128"
# What the node does with what it receives (value sets, prior rules, jobs) changed by an operator.
SOFTWARE_CONFIGURATION = "110131"
# Who may do what in the console (users, roles) changed.
SECURITY_ROLES_CHANGED = "110136"

_LOGIN = Code("110122", "DCM", "Login")
_LOGOUT = Code("110123", "DCM", "Logout")
_START = Code("110120", "DCM", "Application Start")
_STOP = Code("110121", "DCM", "Application Stop")


def user_authentication(*, user: Peer, event: Literal["login", "logout"], authenticator: Peer | None = None,
                        outcome: int = 0, outcome_description: str = "", source: AuditSource | None = None,
                        event_datetime: datetime | None = None) -> AuditRecord:
    """User Authentication 110114 (PS3.15 A.5.3.12): a person logged in or out, or failed to."""
    audit_source = source or node_source()
    node = authenticator or this_node(audit_source.source_id)
    return record(
        event_id=USER_AUTHENTICATION, action_code="E", outcome=outcome,
        outcome_description=outcome_description, event_type_codes=(_LOGIN if event == "login" else _LOGOUT,),
        participants=(participant(user, is_requestor=True), participant(node, is_requestor=False)),
        source=audit_source, event_datetime=event_datetime,
    )


def security_alert(*, type_code: str, description: str, outcome: int = 4, performer: Peer | None = None,
                   subject: str = "", subject_type: Literal["node", "uri"] = "node",
                   reporter: Peer | None = None, source: AuditSource | None = None,
                   event_datetime: datetime | None = None) -> AuditRecord:
    """Security Alert 110113 (PS3.15 A.5.3.11), typed by DCM CID 403.

    `description` says why, in EventOutcomeDescription and as the subject's Alert Description.
    `performer` is who did it (the peer of a refused handshake); `subject` the node (host or IP)
    or URI the alert is about. `outcome` 4 or 8: the node held; 12: it may not have (A.5.3.11).
    """
    if type_code not in SECURITY_ALERT_TYPES:
        raise ValueError(f"{type_code!r} is no security alert type of DCM CID 403")
    audit_source = source or node_source()
    reporting = reporter or this_node(audit_source.source_id)
    performing = (participant(performer, is_requestor=True),) if performer else ()
    subjects: tuple[ParticipantObject, ...] = ()
    if subject:
        subjects = (ParticipantObject(
            object_id=subject, type_code=SYSTEM_OBJECT, type_code_role=SECURITY_RESOURCE,
            id_type_code=URI if subject_type == "uri" else NODE_ID,
            details=(("Alert Description", description.encode()),)),)
    return record(
        event_id=SECURITY_ALERT, action_code="E", outcome=outcome, outcome_description=description,
        event_type_codes=(Code(type_code, "DCM", SECURITY_ALERT_TYPES[type_code]),),
        participants=(participant(reporting, is_requestor=performer is None), *performing),
        objects=subjects, source=audit_source, event_datetime=event_datetime,
    )


def application_activity(*, event: Literal["start", "stop"], application: Peer | None = None,
                         launcher: Peer | None = None, outcome: int = 0, outcome_description: str = "",
                         source: AuditSource | None = None,
                         event_datetime: datetime | None = None) -> AuditRecord:
    """Application Activity 110100 (PS3.15 A.5.3.1): one of the node's processes started or stopped."""
    audit_source = source or node_source()
    app = application or this_node(audit_source.source_id)
    # A.5.3.1: the launcher (a person or the process manager) is the requestor, if known.
    launched_by = ((participant(launcher, is_requestor=True, role=APPLICATION_LAUNCHER_ROLE),)
                   if launcher else ())
    return record(
        event_id=APPLICATION_ACTIVITY, action_code="E", outcome=outcome,
        outcome_description=outcome_description, event_type_codes=(_START if event == "start" else _STOP,),
        participants=(participant(app, is_requestor=False, role=APPLICATION_ROLE), *launched_by),
        source=audit_source, event_datetime=event_datetime,
    )


def audit_log_used(*, user: Peer, log_uri: str, action_code: Literal["R", "E"] = "R", outcome: int = 0,
                   description: str = "", source: AuditSource | None = None,
                   event_datetime: datetime | None = None) -> AuditRecord:
    """Audit Log Used 110101 (PS3.15 A.5.3.2): someone read (R) the trail or exported it (E).

    `log_uri` names what was read: the page or export with its query, so an auditor of auditors
    sees which part of the trail was looked at. The person is the requestor.
    """
    audit_source = source or node_source()
    log = ParticipantObject(object_id=log_uri[:1024], type_code=SYSTEM_OBJECT,
                            type_code_role=SECURITY_RESOURCE, id_type_code=URI,
                            name="Security Audit Log")
    return record(
        event_id=AUDIT_LOG_USED, action_code=action_code, outcome=outcome,
        outcome_description=description, participants=(participant(user, is_requestor=True),),
        objects=(log,), source=audit_source, event_datetime=event_datetime,
    )
