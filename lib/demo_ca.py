"""A throwaway certificate authority for tests and local trials of the node's mutual TLS (ITI-19).

Never for production: a real deployment uses the certificates of its health information
exchange's CA. `write_demo_certs` writes into one folder:

    ca.pem, ca-key.pem              the demo CA
    server.pem, server-key.pem      the node's and the audit repository's server certificate
    <name>.pem, <name>-key.pem      one client certificate per name (CN = name)
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1")
DEFAULT_CLIENTS = ("hienode",)
ORGANISATION = "HIE demo"
# Names become file names and CNs: letters, digits, dot, dash, underscore.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_RESERVED = {"ca", "server"}


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class DemoCertificates:
    ca: KeyPair
    server: KeyPair
    clients: dict[str, KeyPair]


def write_demo_certs(out: Path, *, hosts: Sequence[str] = DEFAULT_HOSTS,
                     clients: Sequence[str] = DEFAULT_CLIENTS, days: int = 825) -> DemoCertificates:
    """Make a CA, a server certificate for `hosts` and a client certificate per name in `clients`.

    Refuses (FileExistsError) to overwrite any file; private keys are written 0600.
    """
    if not hosts:
        raise ValueError("the server certificate needs at least one host name or address")
    for name in clients:
        if not _NAME.fullmatch(name) or name in _RESERVED:
            raise ValueError(f"{name!r} cannot name a client certificate")
    if len(set(clients)) != len(clients):
        raise ValueError("each client name may appear once")
    planned = DemoCertificates(
        ca=_pair(out, "ca"), server=_pair(out, "server"),
        clients={name: _pair(out, name) for name in clients},
    )
    paths = [p for pair in (planned.ca, planned.server, *planned.clients.values())
             for p in (pair.cert, pair.key)]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise FileExistsError(f"will not overwrite {', '.join(existing)}")
    out.mkdir(parents=True, exist_ok=True)

    now = datetime.now(UTC) - timedelta(minutes=5)  # a little slack for clocks behind ours
    until = now + timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _subject("HIE demo CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(planned.ca, ca_cert, ca_key)

    def issue(pair: KeyPair, common_name: str, usage: x509.ObjectIdentifier,
              san: list[x509.GeneralName] | None) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(common_name)).issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        _write(pair, builder.sign(ca_key, hashes.SHA256()), key)

    issue(planned.server, hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, [_general_name(h) for h in hosts])
    for name, pair in planned.clients.items():
        issue(pair, name, ExtendedKeyUsageOID.CLIENT_AUTH, None)
    return planned


def _pair(out: Path, name: str) -> KeyPair:
    return KeyPair(cert=out / f"{name}.pem", key=out / f"{name}-key.pem")


def _subject(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(pair: KeyPair, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    with pair.cert.open("xb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # O_EXCL: never replace a key; 0600 from the first byte, whatever the umask.
    fd = os.open(pair.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(pair.key, 0o600)
