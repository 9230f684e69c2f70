"""Client certificates: read from PEM, registered to an organisation, found again by the selector."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from organisations.authentication import peer_organisation
from organisations.certificates import UnreadableCertificate, read_der, read_pem
from organisations.models import ClientCertificate, Organisation
from organisations.selectors import organisation_for_certificate
from organisations.services import CertificateRefused, client_certificate_register, organisation_create

pytestmark = pytest.mark.django_db


def der_of(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)


def issued_by(exchange: DemoCertificates, *, name: str, not_before: datetime, not_after: datetime) -> str:
    """A client certificate from the exchange's CA with the given validity, as PEM."""
    ca_cert = x509.load_pem_x509_certificate(exchange.ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(exchange.ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def hospital_a() -> Organisation:
    return organisation_create(code="hospa", name="Hospital A")


def register(organisation: Organisation, path: Path) -> ClientCertificate:
    return client_certificate_register(organisation=organisation, certificate=read_pem(path.read_text()))


# --- Reading.

def test_a_pem_certificate_is_read_into_its_subject_issuer_serial_dates_and_fingerprint(
        exchange_ca: DemoCertificates) -> None:
    path = exchange_ca.clients["hospa"].cert
    facts = read_pem(path.read_text())
    parsed = x509.load_pem_x509_certificate(path.read_bytes())
    assert facts.subject == "CN=hospa,O=HIE demo"
    assert facts.issuer == "CN=HIE demo CA,O=HIE demo"
    assert facts.serial == format(parsed.serial_number, "x")
    assert facts.fingerprint_sha256 == hashlib.sha256(der_of(path)).hexdigest()
    assert facts.not_after == parsed.not_valid_after_utc
    assert not facts.is_ca
    assert read_der(der_of(path)) == facts


@pytest.mark.parametrize("text", [
    "",
    "hello",
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
])
def test_text_that_is_no_certificate_is_unreadable(text: str) -> None:
    with pytest.raises(UnreadableCertificate):
        read_pem(text)


def test_a_certificate_pasted_with_its_private_key_is_refused(exchange_ca: DemoCertificates) -> None:
    pair = exchange_ca.clients["hospa"]
    with pytest.raises(UnreadableCertificate, match="exactly one"):
        read_pem(pair.cert.read_text() + pair.key.read_text())


def test_a_chain_of_two_certificates_is_refused(exchange_ca: DemoCertificates) -> None:
    with pytest.raises(UnreadableCertificate, match="exactly one"):
        read_pem(exchange_ca.clients["hospa"].cert.read_text() + exchange_ca.ca.cert.read_text())


# --- Registering.

def test_hospital_as_certificate_is_registered_and_the_change_audited(
        exchange_ca: DemoCertificates, hospital_a: Organisation) -> None:
    certificate = client_certificate_register(
        organisation=hospital_a, certificate=read_pem(exchange_ca.clients["hospa"].cert.read_text()),
        registered_by="operator")
    assert certificate.organisation == hospital_a
    assert certificate.active
    assert certificate.subject == "CN=hospa,O=HIE demo"
    assert certificate.pem.startswith("-----BEGIN CERTIFICATE-----")
    alert = AuditEvent.objects.get(event_id="110113", organisation="hospa")
    assert alert.outcome == 0
    assert alert.user_id == "operator"
    assert alert.record["event_type_codes"][0]["code"] == "110129"  # Security Configuration
    assert certificate.fingerprint_sha256 in alert.record["outcome_description"]


def test_a_certificate_registered_already_is_refused(exchange_ca: DemoCertificates,
                                                     hospital_a: Organisation) -> None:
    register(hospital_a, exchange_ca.clients["hospa"].cert)
    hospital_b = organisation_create(code="hospb", name="Hospital B")
    with pytest.raises(CertificateRefused, match="registered already, to Hospital A"):
        register(hospital_b, exchange_ca.clients["hospa"].cert)


def test_a_ca_certificate_is_refused(exchange_ca: DemoCertificates, hospital_a: Organisation) -> None:
    with pytest.raises(CertificateRefused, match="CA certificate"):
        register(hospital_a, exchange_ca.ca.cert)
    assert not ClientCertificate.objects.exists()


def test_an_expired_certificate_is_refused(exchange_ca: DemoCertificates, hospital_a: Organisation) -> None:
    now = datetime.now(UTC)
    pem = issued_by(exchange_ca, name="old", not_before=now - timedelta(days=30),
                    not_after=now - timedelta(days=1))
    with pytest.raises(CertificateRefused, match="expired"):
        client_certificate_register(organisation=hospital_a, certificate=read_pem(pem))


# --- Finding the organisation behind a certificate.

def test_the_selector_finds_hospital_a_by_its_certificate(exchange_ca: DemoCertificates,
                                                          hospital_a: Organisation) -> None:
    register(hospital_a, exchange_ca.clients["hospa"].cert)
    assert organisation_for_certificate(der=der_of(exchange_ca.clients["hospa"].cert)) == hospital_a


def test_a_certificate_no_organisation_holds_finds_none(exchange_ca: DemoCertificates,
                                                        hospital_a: Organisation) -> None:
    register(hospital_a, exchange_ca.clients["hospa"].cert)
    assert organisation_for_certificate(der=der_of(exchange_ca.clients["unclaimed"].cert)) is None


def test_an_inactive_certificate_finds_none(exchange_ca: DemoCertificates, hospital_a: Organisation) -> None:
    certificate = register(hospital_a, exchange_ca.clients["hospa"].cert)
    certificate.active = False
    certificate.save()
    assert organisation_for_certificate(der=der_of(exchange_ca.clients["hospa"].cert)) is None


def test_the_certificate_of_an_inactive_organisation_finds_none(exchange_ca: DemoCertificates,
                                                               hospital_a: Organisation) -> None:
    register(hospital_a, exchange_ca.clients["hospa"].cert)
    hospital_a.active = False
    hospital_a.save()
    assert organisation_for_certificate(der=der_of(exchange_ca.clients["hospa"].cert)) is None


def test_a_certificate_that_expired_since_it_was_registered_finds_none(
        exchange_ca: DemoCertificates, hospital_a: Organisation) -> None:
    register(hospital_a, exchange_ca.clients["hospa"].cert)
    ClientCertificate.objects.update(not_after=datetime.now(UTC) - timedelta(seconds=1))
    assert organisation_for_certificate(der=der_of(exchange_ca.clients["hospa"].cert)) is None


def test_a_certificate_not_yet_valid_finds_none(exchange_ca: DemoCertificates,
                                                hospital_a: Organisation) -> None:
    now = datetime.now(UTC)
    pem = issued_by(exchange_ca, name="future", not_before=now + timedelta(days=1),
                    not_after=now + timedelta(days=30))
    client_certificate_register(organisation=hospital_a, certificate=read_pem(pem))
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    assert organisation_for_certificate(der=der) is None


def test_an_unknown_certificate_at_a_listener_is_audited_as_a_node_authentication_failure(
        exchange_ca: DemoCertificates) -> None:
    found = peer_organisation(protocol="MLLP", peer_host="192.0.2.7",
                              der=der_of(exchange_ca.clients["unclaimed"].cert))
    assert found is None
    alert = AuditEvent.objects.get(event_id="110113")
    assert alert.outcome == 4
    assert alert.record["event_type_codes"][0]["code"] == "110126"
    assert alert.source_address == "192.0.2.7"
    assert "CN=unclaimed,O=HIE demo" in alert.record["outcome_description"]
