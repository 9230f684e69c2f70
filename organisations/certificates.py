"""X.509 at the wire: a PEM or DER client certificate read into plain facts for the services."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class UnreadableCertificate(ValueError):
    """The text is not one PEM-encoded X.509 certificate."""


@dataclass(frozen=True)
class CertificateFacts:
    """What the node keeps of a certificate; `fingerprint_sha256` (hex) is how it finds it again."""

    fingerprint_sha256: str
    subject: str  # RFC 4514, as `CN=hospa,O=HIE demo`
    issuer: str
    serial: str  # hexadecimal
    not_before: datetime
    not_after: datetime
    pem: str
    is_ca: bool


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, lowercase hex, as `openssl x509 -fingerprint`
    prints it without the colons."""
    return hashlib.sha256(der).hexdigest()


def read_pem(text: str) -> CertificateFacts:
    """The one certificate in `text`; refuses a key, a chain or anything else."""
    data = text.strip().encode("ascii", errors="replace")
    if data.count(b"-----BEGIN CERTIFICATE-----") != 1 or b"PRIVATE KEY" in data:
        raise UnreadableCertificate("paste exactly one PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise UnreadableCertificate(f"not a readable X.509 certificate: {exc}") from exc
    return _facts(certificate)


def read_der(der: bytes) -> CertificateFacts:
    """A certificate as TLS hands it over (`getpeercert(binary_form=True)`)."""
    try:
        return _facts(x509.load_der_x509_certificate(der))
    except ValueError as exc:
        raise UnreadableCertificate(f"not a readable X.509 certificate: {exc}") from exc


def _facts(certificate: x509.Certificate) -> CertificateFacts:
    der = certificate.public_bytes(serialization.Encoding.DER)
    try:
        is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CertificateFacts(
        fingerprint_sha256=fingerprint(der),
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        is_ca=is_ca,
    )
