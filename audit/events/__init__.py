"""Builders of audit records, one per kind of event (DICOM PS3.15 A.5.3, ITI TF-2, RAD TF-3).

A handler describes what it saw with plain values and hands the record to the audit service:

    services.record(query(transaction="ITI-9", sender=Peer("HOSPB|PIX_CLIENT", host=ip),
                          receiver=this_node("HIENODE|EMPI"), raw_query=message, ...))

Participants are `Peer`s: the builder gives each its role (Source, Destination, Application...)
and says who asked. `source` is the AuditSourceIdentification, this node by default.
"""

from audit.events.common import TRANSACTIONS, Peer, node_source, this_node
from audit.events.dicom import StudyRef, instances_transferred
from audit.events.security import (
    NETWORK_CONFIGURATION,
    NODE_AUTHENTICATION,
    SECURITY_ALERT_TYPES,
    SECURITY_CONFIGURATION,
    SECURITY_ROLES_CHANGED,
    SOFTWARE_CONFIGURATION,
    USE_OF_RESTRICTED_FUNCTION,
    application_activity,
    audit_log_used,
    security_alert,
    user_authentication,
)
from audit.events.transactions import DocumentRef, export, import_, patient_record, query

__all__ = [
    "NETWORK_CONFIGURATION",
    "NODE_AUTHENTICATION",
    "SECURITY_ALERT_TYPES",
    "SECURITY_CONFIGURATION",
    "SECURITY_ROLES_CHANGED",
    "SOFTWARE_CONFIGURATION",
    "TRANSACTIONS",
    "USE_OF_RESTRICTED_FUNCTION",
    "DocumentRef",
    "Peer",
    "StudyRef",
    "application_activity",
    "audit_log_used",
    "export",
    "import_",
    "instances_transferred",
    "node_source",
    "patient_record",
    "query",
    "security_alert",
    "this_node",
    "user_authentication",
]
