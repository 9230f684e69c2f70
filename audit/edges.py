"""Audit records for what the protocol edges refuse or accept before any transaction runs.

The edges (soap/, mllp/, imaging/dicom/) stay free of the audit domain: config/urls.py and the
listeners' commands hand them these functions. Each records in a transaction of its own, since
a refused request has no business change to ride on (ITI TF-2: every access is accounted for).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from audit import events
from audit.events import NODE_AUTHENTICATION, USE_OF_RESTRICTED_FUNCTION, Peer
from audit.services import record_alone


def soap_fault(request: HttpRequest, endpoint: Any, fault: Any, action: str) -> None:
    """A SOAP request answered with a fault: hostile, malformed, or for an action we lack."""
    subcode = f"/{fault.subcode[1]}" if fault.subcode else ""
    outcome = 8 if fault.code == "Receiver" else 4
    description = (f"SOAP fault {fault.code}{subcode} at /{endpoint.path}"
                   f"{' for ' + action if action else ''}: {fault.reason}")
    record_alone(events.security_alert(
        type_code=USE_OF_RESTRICTED_FUNCTION, outcome=outcome, description=description[:1000],
        performer=Peer(user_id=request.META.get("REMOTE_ADDR", ""),
                       host=request.META.get("REMOTE_ADDR", "")),
        subject=request.build_absolute_uri(request.path), subject_type="uri",
    ), organisation=getattr(request, "organisation_code", ""))


def hl7_refused(peer: str, reply: Any, organisation: str = "") -> None:
    """An HL7 v2 message answered AE or AR by the listener itself (no handler took it)."""
    host = peer.rsplit(":", 1)[0]
    description = (f"HL7 v2 {reply.message_code or 'unreadable message'} "
                   f"(MSH-10 {reply.control_id or '-'}) answered {reply.ack_code}: {reply.refusal}")
    record_alone(events.security_alert(
        type_code=USE_OF_RESTRICTED_FUNCTION, outcome=4, description=description[:1000],
        performer=Peer(user_id=peer, host=host), subject=host,
    ), organisation=organisation)


def not_theirs(*, transaction: str, organisation: str, performer: Peer, detail: str) -> None:
    """An authenticated organisation (certificate or OAuth client) naming another organisation's
    patients: not a malformed request but a use of a function it is not allowed (DCM CID 403)."""
    record_alone(events.security_alert(
        type_code=USE_OF_RESTRICTED_FUNCTION, outcome=4, performer=performer,
        description=f"{transaction} from organisation {organisation}: {detail}"[:1000],
    ), organisation=organisation)


def dicom_association(*, calling_ae: str, peer_host: str, organisation: str = "") -> None:
    """A DICOM node authenticated by AE title (and, on the TLS port, by its certificate's
    organisation) on an association the node accepted (C-ECHO)."""
    record_alone(events.user_authentication(
        user=Peer(user_id=calling_ae, host=peer_host), event="login",
        outcome_description="DICOM association accepted",
    ), organisation=organisation)


def tls_refused(*, protocol: str, peer_host: str, reason: str) -> None:
    """A peer whose TLS handshake the node refused: no certificate, an unknown CA, an old
    protocol version (ITI TF-2 3.19: a failed node authentication is a security alert)."""
    description = f"{protocol} TLS handshake from {peer_host} refused: {reason}"
    record_alone(events.security_alert(
        type_code=NODE_AUTHENTICATION, outcome=4, description=description[:1000],
        performer=Peer(user_id=peer_host, host=peer_host), subject=peer_host,
    ))


def certificate_unknown(*, protocol: str, peer_host: str, subject: str, fingerprint: str) -> None:
    """A peer with a certificate the exchange's CA issued but no organisation holds: the TLS
    session succeeded, the node still refused it (ITI TF-2 3.19)."""
    description = (f"{protocol} client certificate {subject} (SHA-256 {fingerprint}) from "
                   f"{peer_host} belongs to no active organisation")
    record_alone(events.security_alert(
        type_code=NODE_AUTHENTICATION, outcome=4, description=description[:1000],
        performer=Peer(user_id=subject[:256] or peer_host, host=peer_host), subject=peer_host,
    ))
