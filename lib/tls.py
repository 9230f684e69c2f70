"""TLS contexts for the node's mutually authenticated channels, configured per BCP 195.

IHE ITI TF-2 3.19 (ITI-19 Authenticate Node) asks each secure node to authenticate its peers
with X.509 certificates on both sides; RFC 9325 (BCP 195) says how: TLS 1.2 at least, TLS 1.2
limited to forward-secret AEAD cipher suites, no TLS compression, no renegotiation. The syslog
sender (audit/syslog.py) and the listeners build their contexts here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]

# Seconds a peer may take over its handshake before the listener gives up on it.
HANDSHAKE_TIMEOUT = 30.0

# RFC 9325 4.2: ECDHE with AES-GCM, AES-128 first (4.2.1); ChaCha20-Poly1305 (RFC 7905) for
# peers without AES hardware. TLS 1.3 suites are all AEAD and stay at OpenSSL's defaults.
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
])


def client_context(*, ca_file: StrPath, cert_file: StrPath | None = None,
                   key_file: StrPath | None = None, check_hostname: bool = True) -> ssl.SSLContext:
    """A context that trusts only `ca_file` and presents `cert_file` when the server asks."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _harden(context)
    context.load_verify_locations(cafile=os.fspath(ca_file))
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if cert_file is not None:
        context.load_cert_chain(os.fspath(cert_file), os.fspath(key_file) if key_file else None)
    return context


def server_context(*, cert_file: StrPath, key_file: StrPath, ca_file: StrPath | None = None,
                   require_client_cert: bool = True) -> ssl.SSLContext:
    """A context that presents `cert_file` and, by default, demands a client certificate
    signed by a CA of `ca_file` (ITI-19: both nodes authenticate)."""
    if require_client_cert and ca_file is None:
        raise ValueError("require_client_cert needs the ca_file that signs the clients' certificates")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context)
    context.load_cert_chain(os.fspath(cert_file), os.fspath(key_file))
    if ca_file is not None:
        context.load_verify_locations(cafile=os.fspath(ca_file))
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    else:
        context.verify_mode = ssl.CERT_NONE
    # RFC 9325 4.2.1: the server picks, from what the client offers, in our order.
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


@dataclass(frozen=True)
class TlsGate:
    """What a listener's TLS port needs for ITI-19: the context, and whom to tell about peers.

    `on_refused(peer_host, reason)`: a handshake failed (no certificate, an unknown CA, TLS 1.1).
    `authenticate(peer_host, der)`: the organisation code holding the CA-verified certificate, or
    None to refuse the peer. Both may block (they write the audit trail): call them off any loop.
    """

    context: ssl.SSLContext
    on_refused: Callable[[str, str], None]
    authenticate: Callable[[str, bytes], str | None]

    def refused(self, peer_host: str, reason: str) -> None:
        """Tell `on_refused`; the peer stays refused even if the hook fails."""
        try:
            self.on_refused(peer_host, reason)
        except Exception as exc:  # its text may quote the peer's data: the type only
            logger.error("on_refused for %s failed: %s", peer_host, type(exc).__name__)

    def admit(self, peer_host: str, der: bytes | None) -> str | None:
        """The organisation code `authenticate` gives the certificate; None (refuse) when there
        is no certificate or the hook fails: the gate stays shut."""
        if not der:
            return None
        try:
            return self.authenticate(peer_host, der)
        except Exception as exc:
            logger.error("authenticate for %s failed: %s", peer_host, type(exc).__name__)
            return None


def refusal_reason(exc: ssl.SSLError) -> str:
    """Why a handshake failed, in OpenSSL's words: `CERTIFICATE_VERIFY_FAILED: self-signed ...`."""
    reason = str(exc.reason or type(exc).__name__)
    detail = getattr(exc, "verify_message", "")
    return f"{reason}: {detail}" if detail else reason


def _harden(context: ssl.SSLContext) -> None:
    # RFC 9325 3.1.1: TLS 1.0 and 1.1 MUST NOT be negotiated (RFC 8996).
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    # RFC 9325 3.3: no TLS-level compression (CRIME); 3.5: no renegotiation.
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
