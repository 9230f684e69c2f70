"""ITI-19 Authenticate Node at the listeners: whose a peer's certificate is, refusals audited.

The TLS layer (lib/tls.py, BCP 195) proves that the exchange's CA issued the certificate; here
the node asks which organisation holds it. The `mllp` and `dicom` commands take a `TlsGate`
from `listener_gate`; the HTTPS middleware and gunicorn's worker call the functions below.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connections

from audit.edges import certificate_unknown, tls_refused
from lib.tls import TlsGate, server_context
from organisations.certificates import UnreadableCertificate, fingerprint, read_der
from organisations.models import Organisation
from organisations.selectors import organisation_for_certificate


def peer_organisation(*, protocol: str, peer_host: str, der: bytes | None) -> Organisation | None:
    """The organisation holding the peer's CA-verified certificate; None, audited, if none does."""
    organisation = organisation_for_certificate(der=der) if der else None
    if organisation is None:
        try:
            subject = read_der(der).subject if der else "(no certificate)"
        except UnreadableCertificate:
            subject = "(unreadable certificate)"
        certificate_unknown(protocol=protocol, peer_host=peer_host, subject=subject,
                            fingerprint=fingerprint(der or b""))
    return organisation


def refusal_recorder(protocol: str) -> Callable[[str, str], None]:
    """`on_refused` for a listener's thread: audits a refused handshake, then lets go of the
    database, since listener threads hold no request that would."""
    def refused(peer_host: str, reason: str) -> None:
        try:
            tls_refused(protocol=protocol, peer_host=peer_host, reason=reason)
        finally:
            connections.close_all()
    return refused


def authenticator(protocol: str) -> Callable[[str, bytes], str | None]:
    """`authenticate` for a listener's thread: the organisation code, or None (audited)."""
    def authenticate(peer_host: str, der: bytes) -> str | None:
        try:
            organisation = peer_organisation(protocol=protocol, peer_host=peer_host, der=der)
            return organisation.code if organisation else None
        finally:
            connections.close_all()
    return authenticate


def listener_gate(*, protocol: str) -> TlsGate | None:
    """The gate of a listener's TLS port, or None while TLS_CERT_FILE, TLS_KEY_FILE and
    TLS_CA_FILE are not all set."""
    if not settings.TLS_ENABLED:
        return None
    context = server_context(cert_file=settings.TLS_CERT_FILE, key_file=settings.TLS_KEY_FILE,
                             ca_file=settings.TLS_CA_FILE)
    return TlsGate(context=context, on_refused=refusal_recorder(protocol),
                   authenticate=authenticator(protocol))
