"""lib/tls.py: BCP 195 contexts, tried with real TLS sessions on loopback."""

from __future__ import annotations

import io
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from lib.demo_ca import DemoCertificates, write_demo_certs
from lib.tls import TlsGate, client_context, refusal_reason, server_context


@pytest.fixture(scope="module")
def hie(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """The exchange's CA, the node's server certificate and hospital A's client certificate."""
    return write_demo_certs(tmp_path_factory.mktemp("hie"), clients=["hospa"])


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """Another self-signed CA, and a client it signed: unknown to the node."""
    return write_demo_certs(tmp_path_factory.mktemp("stranger"), clients=["hospa"])


@dataclass
class OneSessionServer:
    """Accepts one connection, answers b"ping" with b"pong", and remembers how it went."""

    context: ssl.SSLContext
    listener: socket.socket = field(default_factory=socket.socket)
    error: BaseException | None = None
    peer_cn: str = ""
    cipher: tuple[str, str, int] | None = None
    thread: threading.Thread | None = None

    def finished(self) -> OneSessionServer:
        """The server, once its session is over (the client may have finished first)."""
        assert self.thread is not None
        self.thread.join(timeout=10)
        return self

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
            conn.settimeout(10)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
                self.peer_cn = str(peer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
                self.cipher = tls.cipher()
                if tls.recv(4) == b"ping":
                    tls.sendall(b"pong")
        except OSError as exc:  # ssl.SSLError among them
            self.error = exc


@pytest.fixture
def node_server(hie: DemoCertificates) -> Iterator[OneSessionServer]:
    """The node's listener: client certificates required, signed by the exchange's CA."""
    server = OneSessionServer(server_context(cert_file=hie.server.cert, key_file=hie.server.key,
                                             ca_file=hie.ca.cert))
    server.listener.bind(("127.0.0.1", 0))
    server.listener.listen(1)
    server.listener.settimeout(10)
    server.thread = threading.Thread(target=server.serve, daemon=True)
    server.thread.start()
    yield server
    server.finished().listener.close()


def ping(server: OneSessionServer, context: ssl.SSLContext, server_hostname: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=server_hostname) as tls:
        tls.sendall(b"ping")
        return tls.recv(4)


def refused(server: OneSessionServer, context: ssl.SSLContext) -> bool:
    """Whether the session failed: in the handshake (TLS 1.2), or on the first read (TLS 1.3,
    where the server checks the client's certificate after the client's handshake is done)."""
    try:
        return ping(server, context) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def why_the_server_refused(server: OneSessionServer) -> str:
    error = server.finished().error
    assert isinstance(error, ssl.SSLError), error
    return str(error.reason)


def test_a_client_with_a_certificate_from_the_exchange_ca_connects(
        node_server: OneSessionServer, hie: DemoCertificates) -> None:
    hospital_a = client_context(ca_file=hie.ca.cert, cert_file=hie.clients["hospa"].cert,
                                key_file=hie.clients["hospa"].key)
    assert ping(node_server, hospital_a) == b"pong"
    assert node_server.finished().error is None
    assert node_server.peer_cn == "hospa"


def test_a_tls_1_2_session_uses_an_ecdhe_aead_cipher_suite(
        node_server: OneSessionServer, hie: DemoCertificates) -> None:
    hospital_a = client_context(ca_file=hie.ca.cert, cert_file=hie.clients["hospa"].cert,
                                key_file=hie.clients["hospa"].key)
    hospital_a.maximum_version = ssl.TLSVersion.TLSv1_2
    assert ping(node_server, hospital_a) == b"pong"
    cipher = node_server.finished().cipher
    assert cipher is not None
    name, version, _ = cipher
    assert version == "TLSv1.2"
    assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_a_tls_1_1_client_is_refused(node_server: OneSessionServer, hie: DemoCertificates) -> None:
    legacy = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    legacy.minimum_version = legacy.maximum_version = ssl.TLSVersion.TLSv1_1
    legacy.set_ciphers("DEFAULT:@SECLEVEL=0")  # let OpenSSL offer TLS 1.1 at all
    legacy.load_verify_locations(hie.ca.cert)
    legacy.load_cert_chain(hie.clients["hospa"].cert, hie.clients["hospa"].key)
    assert refused(node_server, legacy)
    assert why_the_server_refused(node_server) == "UNSUPPORTED_PROTOCOL"


def test_a_tls_1_2_client_offering_only_cbc_cipher_suites_is_refused(
        node_server: OneSessionServer, hie: DemoCertificates) -> None:
    legacy = client_context(ca_file=hie.ca.cert, cert_file=hie.clients["hospa"].cert,
                            key_file=hie.clients["hospa"].key)
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    legacy.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384")
    assert refused(node_server, legacy)
    assert why_the_server_refused(node_server) == "NO_SHARED_CIPHER"


def test_a_client_without_a_certificate_is_refused(
        node_server: OneSessionServer, hie: DemoCertificates) -> None:
    anonymous = client_context(ca_file=hie.ca.cert)
    assert refused(node_server, anonymous)
    assert why_the_server_refused(node_server) == "PEER_DID_NOT_RETURN_A_CERTIFICATE"


def test_a_client_with_a_certificate_from_another_ca_is_refused(
        node_server: OneSessionServer, hie: DemoCertificates, stranger: DemoCertificates) -> None:
    impostor = client_context(ca_file=hie.ca.cert, cert_file=stranger.clients["hospa"].cert,
                              key_file=stranger.clients["hospa"].key)
    assert refused(node_server, impostor)
    assert why_the_server_refused(node_server) == "CERTIFICATE_VERIFY_FAILED"


def test_the_client_refuses_a_server_whose_name_does_not_match(
        node_server: OneSessionServer, hie: DemoCertificates) -> None:
    hospital_a = client_context(ca_file=hie.ca.cert, cert_file=hie.clients["hospa"].cert,
                                key_file=hie.clients["hospa"].key)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        ping(node_server, hospital_a, server_hostname="registry.example.org")


def test_the_client_refuses_a_server_from_another_ca(
        node_server: OneSessionServer, stranger: DemoCertificates) -> None:
    misled = client_context(ca_file=stranger.ca.cert, cert_file=stranger.clients["hospa"].cert,
                            key_file=stranger.clients["hospa"].key)
    with pytest.raises(ssl.SSLCertVerificationError):
        ping(node_server, misled)


def test_a_server_that_requires_client_certificates_needs_a_ca(hie: DemoCertificates) -> None:
    with pytest.raises(ValueError, match="ca_file"):
        server_context(cert_file=hie.server.cert, key_file=hie.server.key)


def test_contexts_forbid_compression_and_renegotiation(hie: DemoCertificates) -> None:
    for context in (client_context(ca_file=hie.ca.cert),
                    server_context(cert_file=hie.server.cert, key_file=hie.server.key,
                                   ca_file=hie.ca.cert)):
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
        assert context.options & ssl.OP_NO_COMPRESSION
        assert context.options & ssl.OP_NO_RENEGOTIATION
        tls12 = [c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
        assert tls12 and all(n.startswith("ECDHE-") and ("GCM" in n or "CHACHA20" in n) for n in tls12)


def test_demo_certificates_are_never_overwritten(tmp_path: Path) -> None:
    write_demo_certs(tmp_path, clients=["hospa"])
    before = (tmp_path / "ca.pem").read_bytes()
    with pytest.raises(FileExistsError):
        write_demo_certs(tmp_path, clients=["hospb"])
    assert (tmp_path / "ca.pem").read_bytes() == before
    assert not (tmp_path / "hospb.pem").exists()
    assert (tmp_path / "hospa-key.pem").stat().st_mode & 0o777 == 0o600


def test_the_tls_demo_certs_command_writes_a_ca_a_server_and_one_client_per_name(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    call_command("tls_demo_certs", "--out", str(tmp_path), "--hosts", "rsyslog,10.0.0.5",
                 "--clients", "hienode,hospa,hospb", stdout=io.StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}{suffix}" for name in ("ca", "server", "hienode", "hospa", "hospb")
        for suffix in (".pem", "-key.pem"))
    server = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["rsyslog", "10.0.0.5"]
    hospb = x509.load_pem_x509_certificate((tmp_path / "hospb.pem").read_bytes())
    assert hospb.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "hospb"
    with pytest.raises(CommandError, match="will not overwrite"):
        call_command("tls_demo_certs", "--out", str(tmp_path), stdout=io.StringIO())


def test_a_gate_whose_authenticate_hook_fails_stays_shut(hie: DemoCertificates) -> None:
    def broken(peer_host: str, der: bytes) -> str | None:
        raise RuntimeError("the database is down")

    gate = TlsGate(context=client_context(ca_file=hie.ca.cert), on_refused=lambda *_: None,
                   authenticate=broken)
    assert gate.admit("192.0.2.7", b"certificate") is None
    assert gate.admit("192.0.2.7", None) is None


def test_a_refusal_reason_names_why_verification_failed() -> None:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]")
    error.reason = "CERTIFICATE_VERIFY_FAILED"
    error.verify_message = "self-signed certificate"
    assert refusal_reason(error) == "CERTIFICATE_VERIFY_FAILED: self-signed certificate"
