"""The peers of the ITI-19 tests: hospital A's systems, and the clients the node must refuse.

Certificates come from lib.demo_ca: the exchange's CA (the node's server certificate, hospital A's
client certificate, one no organisation holds) and a stranger's CA the node does not trust.
"""

from __future__ import annotations

import ssl
import time
import warnings
from collections.abc import Callable

from lib.demo_ca import DemoCertificates
from lib.tls import client_context

# Who knocks, and why the node's TLS layer turns each away (OpenSSL's reason, in the audit record).
REFUSED_CLIENTS = {
    "no certificate": "PEER_DID_NOT_RETURN_A_CERTIFICATE",
    "a self-signed certificate": "CERTIFICATE_VERIFY_FAILED",
    "TLS 1.1 at most": "UNSUPPORTED_PROTOCOL",
}


def hospital_a(exchange: DemoCertificates) -> ssl.SSLContext:
    """Hospital A's systems, with the certificate the exchange's CA issued them."""
    return _client(exchange, exchange.clients["hospa"].cert, exchange.clients["hospa"].key)


def unclaimed(exchange: DemoCertificates) -> ssl.SSLContext:
    """A system with a certificate from the exchange's CA that no organisation has registered."""
    return _client(exchange, exchange.clients["unclaimed"].cert, exchange.clients["unclaimed"].key)


def refused_client(kind: str, exchange: DemoCertificates, stranger: DemoCertificates) -> ssl.SSLContext:
    """One of REFUSED_CLIENTS. Each trusts the node's server certificate: only its own side fails."""
    if kind == "no certificate":
        return client_context(ca_file=exchange.ca.cert)
    if kind == "a self-signed certificate":
        # The stranger CA's own certificate: self-signed, and unknown to the node.
        return _client(exchange, stranger.ca.cert, stranger.ca.key)
    if kind == "TLS 1.1 at most":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            legacy = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            legacy.minimum_version = legacy.maximum_version = ssl.TLSVersion.TLSv1_1
        legacy.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL offer TLS 1.1 at all
        legacy.load_verify_locations(exchange.ca.cert)
        legacy.load_cert_chain(exchange.clients["hospa"].cert, exchange.clients["hospa"].key)
        return legacy
    raise ValueError(kind)


def _client(exchange: DemoCertificates, cert: object, key: object) -> ssl.SSLContext:
    return client_context(ca_file=exchange.ca.cert, cert_file=str(cert), key_file=str(key))


def node_authentication_alert(matches: Callable[[str], bool], timeout: float = 15.0) -> str:
    """The description of the first 110126 Node Authentication alert `matches` accepts, waiting
    for the node's process to commit it; AssertionError when none comes."""
    from audit.models import AuditEvent

    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = [event.record["outcome_description"]
                for event in AuditEvent.objects.filter(event_id="110113", outcome=4)
                if event.record["event_type_codes"][0]["code"] == "110126"]
        found = [description for description in seen if matches(description)]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no such Node Authentication alert; there are: {seen}")
