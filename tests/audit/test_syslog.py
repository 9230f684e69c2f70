"""audit/syslog.py: RFC 5424 messages, and their delivery to a real rsyslogd audit repository."""

from __future__ import annotations

import re
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from audit.syslog import (
    AuditTransportError,
    TlsSyslogSender,
    UdpSyslogSender,
    format_message,
    sender_from_url,
)
from lib.demo_ca import DemoCertificates, write_demo_certs
from lib.tls import client_context
from tests.servers.rsyslog import RsyslogServer, start_rsyslog

BOM = b"\xef\xbb\xbf"
# RFC 5424 6: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP MSG
LINE = re.compile(rb"<(\d+)>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (\[[^]]*\]|-) (.*)", re.DOTALL)
WHEN = datetime(2025, 3, 14, 9, 26, 53, 589_793, tzinfo=UTC)


@dataclass
class Received:
    pri: int
    version: int
    timestamp: bytes
    hostname: bytes
    app_name: bytes
    procid: bytes
    msgid: bytes
    structured_data: bytes
    msg: bytes

    @property
    def sequence_id(self) -> int:
        found = re.fullmatch(rb'\[meta sequenceId="(\d+)"\]', self.structured_data)
        assert found, self.structured_data
        return int(found[1])


def parse(line: bytes) -> Received:
    found = LINE.fullmatch(line)
    assert found, line[:200]
    pri, version, *fields = found.groups()
    return Received(int(pri), int(version), *fields)


def audit_xml(marker: str, padding: int = 0) -> bytes:
    return (f'<AuditMessage>\n  <EventIdentification EventActionCode="R" id="{marker}"/>\n'
            f'{"x" * padding}</AuditMessage>').encode()


def message(marker: str, sequence_id: int = 1, padding: int = 0) -> bytes:
    return format_message(xml=audit_xml(marker, padding), sequence_id=sequence_id, timestamp=WHEN,
                          hostname="hienode.example.org", app_name="hienode", procid="4242")


def with_marker(repository: RsyslogServer, marker: str) -> list[bytes]:
    return [line for line in repository.lines() if marker.encode() in line]


def arrived(repository: RsyslogServer, marker: str, count: int = 1) -> list[bytes]:
    """The lines carrying `marker`, once `count` of them are there (and no more come)."""
    repository.wait_for(lambda _: len(with_marker(repository, marker)) >= count)
    time.sleep(0.2)
    return with_marker(repository, marker)


# --- format_message: RFC 5424 as ITI TF-2 3.20.6 profiles it.

def test_a_message_has_the_ihe_header_structured_data_and_a_bom() -> None:
    raw = message("m", sequence_id=7)
    assert raw.startswith(b'<85>1 2025-03-14T09:26:53.589Z hienode.example.org hienode 4242 '
                          b'IHE+RFC-3881 [meta sequenceId="7"] ' + BOM + b"<AuditMessage>")


def test_the_timestamp_is_written_in_utc_with_milliseconds() -> None:
    paris = timezone(timedelta(hours=1))
    raw = format_message(xml=b"<a/>", sequence_id=1, timestamp=datetime(2025, 1, 1, 0, 30, tzinfo=paris),
                         hostname="h", app_name="a", procid="p")
    assert b" 2024-12-31T23:30:00.000Z " in raw


def test_empty_header_fields_are_written_as_the_nilvalue() -> None:
    raw = format_message(xml=b"<a/>", sequence_id=1, timestamp=WHEN, hostname="", app_name="", procid="")
    assert parse(raw).hostname == parse(raw).app_name == parse(raw).procid == b"-"


def test_a_bom_already_in_the_xml_is_not_doubled() -> None:
    raw = format_message(xml=BOM + b"<a/>", sequence_id=1, timestamp=WHEN, hostname="h",
                         app_name="a", procid="p")
    assert raw.endswith(b"] " + BOM + b"<a/>")


@pytest.mark.parametrize("sequence_id", [0, -1, 2_147_483_648])
def test_a_sequence_id_outside_rfc_5424_bounds_is_refused(sequence_id: int) -> None:
    with pytest.raises(ValueError, match="sequenceId"):
        message("m", sequence_id=sequence_id)


@pytest.mark.parametrize(("field", "value"), [
    ("hostname", "two words"), ("hostname", "h" * 256), ("hostname", "hôpital"),
    ("app_name", "a" * 49), ("procid", "p" * 129), ("procid", "tab\there"),
])
def test_header_fields_must_be_printable_us_ascii_within_their_length(field: str, value: str) -> None:
    fields = {"hostname": "h", "app_name": "a", "procid": "p", field: value}
    with pytest.raises(ValueError, match="printable US-ASCII"):
        format_message(xml=b"<a/>", sequence_id=1, timestamp=WHEN, **fields)


def test_the_longest_header_fields_are_accepted() -> None:
    raw = format_message(xml=b"<a/>", sequence_id=2_147_483_647, timestamp=WHEN, hostname="h" * 255,
                         app_name="a" * 48, procid="p" * 128)
    assert parse(raw).sequence_id == 2_147_483_647


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        format_message(xml=b"<a/>", sequence_id=1, timestamp=datetime(2025, 1, 1), hostname="h",
                       app_name="a", procid="p")


def test_xml_that_is_not_utf_8_is_refused() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        format_message(xml="<a>é</a>".encode("latin-1"), sequence_id=1, timestamp=WHEN,
                       hostname="h", app_name="a", procid="p")


# --- sender_from_url: the settings' one URL.

def test_an_empty_url_means_no_audit_repository() -> None:
    assert sender_from_url("") is None


def test_a_tls_url_makes_a_tls_sender(tmp_path: Path) -> None:
    sender = sender_from_url("tls://rsyslog:6514", ca_file=tmp_path / "ca.pem",
                             cert_file=tmp_path / "n.pem", key_file=tmp_path / "n-key.pem", timeout=3)
    assert isinstance(sender, TlsSyslogSender)
    assert (sender.host, sender.port, sender.timeout) == ("rsyslog", 6514, 3)


def test_a_udp_url_without_a_port_uses_514() -> None:
    sender = sender_from_url("udp://[::1]")
    assert isinstance(sender, UdpSyslogSender)
    assert (sender.host, sender.port) == ("::1", 514)


@pytest.mark.parametrize("url", ["tcp://rsyslog:514", "rsyslog:6514", "tls://:6514",
                                 "tls://rsyslog:port", "udp://rsyslog:514/path"])
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        sender_from_url(url, ca_file="ca.pem", cert_file="n.pem", key_file="n-key.pem")


def test_a_tls_url_without_the_nodes_certificate_is_refused() -> None:
    with pytest.raises(ValueError, match="ITI-19"):
        sender_from_url("tls://rsyslog:6514", ca_file="ca.pem")


# --- TlsSyslogSender against a real rsyslogd (RFC 5425).

@pytest.fixture(scope="module")
def hie(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """The exchange's CA, the repository's server certificate, the node's client certificate."""
    return write_demo_certs(tmp_path_factory.mktemp("hie"), clients=["hienode"])


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory, hie: DemoCertificates) -> Iterator[RsyslogServer]:
    server = start_rsyslog(tmp_path_factory.mktemp("rsyslog"), certs=hie.ca.cert.parent)
    yield server
    server.stop()


@pytest.fixture
def own_repository(tmp_path: Path, hie: DemoCertificates) -> Iterator[RsyslogServer]:
    """A repository for one test alone, which it may stop and start."""
    server = start_rsyslog(tmp_path / "rsyslog", certs=hie.ca.cert.parent)
    yield server
    server.stop()


def node_sender(hie: DemoCertificates, repository: RsyslogServer) -> TlsSyslogSender:
    node = hie.clients["hienode"]
    return TlsSyslogSender("127.0.0.1", repository.port, ca_file=hie.ca.cert, cert_file=node.cert,
                           key_file=node.key, timeout=10)


@pytest.fixture
def sender(hie: DemoCertificates, repository: RsyslogServer) -> Iterator[TlsSyslogSender]:
    sender = node_sender(hie, repository)
    yield sender
    sender.close()


@pytest.mark.integration
def test_the_repository_receives_the_ihe_header_and_the_xml_after_a_bom(
        sender: TlsSyslogSender, repository: RsyslogServer) -> None:
    marker = uuid.uuid4().hex
    sender.send([message(marker, sequence_id=7)])
    [line] = arrived(repository, marker)
    received = parse(line)
    assert (received.pri, received.version) == (85, 1)  # authpriv.notice
    assert received.timestamp == b"2025-03-14T09:26:53.589Z"
    assert (received.hostname, received.app_name, received.procid) == (b"hienode.example.org",
                                                                        b"hienode", b"4242")
    assert received.msgid == b"IHE+RFC-3881"
    assert received.sequence_id == 7
    assert received.msg.startswith(BOM + b"<AuditMessage>#012")  # rsyslog escapes the line break
    assert received.msg.endswith(b"</AuditMessage>")


@pytest.mark.integration
def test_a_batch_of_200_arrives_in_order_each_sequence_id_once(
        sender: TlsSyslogSender, repository: RsyslogServer) -> None:
    marker = uuid.uuid4().hex
    sender.send([message(marker, sequence_id=n) for n in range(1, 201)])
    lines = arrived(repository, marker, 200)
    assert [parse(line).sequence_id for line in lines] == list(range(1, 201))


@pytest.mark.integration
def test_batches_share_one_tls_session(sender: TlsSyslogSender, repository: RsyslogServer) -> None:
    marker = uuid.uuid4().hex
    sender.send([message(marker, 1)])
    session = sender._sock
    sender.send([message(marker, 2)])
    assert session is not None and sender._sock is session
    assert len(arrived(repository, marker, 2)) == 2


@pytest.mark.integration
def test_a_600_kb_record_arrives_whole(sender: TlsSyslogSender, repository: RsyslogServer) -> None:
    marker = uuid.uuid4().hex
    sender.send([message(marker, padding=600_000)])
    [line] = arrived(repository, marker)
    assert len(line) > 600_000
    assert line.endswith(b"x</AuditMessage>")


@pytest.mark.integration
def test_a_stopped_repository_makes_send_fail_and_a_restarted_one_is_reconnected(
        hie: DemoCertificates, own_repository: RsyslogServer) -> None:
    sender = node_sender(hie, own_repository)
    sender.send([message("before", 1)])
    own_repository.wait_for(1)

    own_repository.stop()
    with pytest.raises(AuditTransportError, match="connect"):
        sender.send([message("during", 2)])

    own_repository.start()  # the same port
    sender.send([message("after", 3)])
    lines = own_repository.wait_for(2)
    assert [parse(line).sequence_id for line in lines] == [1, 3]
    sender.close()


@pytest.mark.integration
def test_a_restart_between_two_batches_goes_unnoticed(
        hie: DemoCertificates, own_repository: RsyslogServer) -> None:
    sender = node_sender(hie, own_repository)
    sender.send([message("first", 1)])
    own_repository.wait_for(1)
    own_repository.stop()
    own_repository.start()
    # The old session is seen closed before anything is written into it: a new one carries it.
    sender.send([message("second", 2)])
    assert [parse(line).sequence_id for line in own_repository.wait_for(2)] == [1, 2]
    sender.close()


@pytest.mark.integration
def test_a_repository_that_does_not_trust_the_node_makes_send_fail_after_the_handshake(
        tmp_path: Path, hie: DemoCertificates) -> None:
    # The repository trusts another CA only, but presents a certificate the node trusts: under
    # TLS 1.3 the node's handshake succeeds, and only a read after writing shows the rejection.
    stranger = write_demo_certs(tmp_path / "stranger", clients=[])
    distrustful = start_rsyslog(tmp_path / "rsyslog", certs=hie.ca.cert.parent,
                                client_ca=stranger.ca.cert)
    sender = node_sender(hie, distrustful)
    try:
        node = hie.clients["hienode"]
        context = client_context(ca_file=hie.ca.cert, cert_file=node.cert, key_file=node.key)
        with socket.create_connection(("127.0.0.1", distrustful.port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.3"  # the handshake "succeeded"
            assert tls.recv(1) == b""  # and then the repository hung up

        for sequence_id in (1, 2):  # every batch, not only the first
            with pytest.raises(AuditTransportError) as raised:
                sender.send([message("rejected", sequence_id)])
            assert "handshake" not in raised.value.reason
            assert "delivery of 1 message(s) is unknown" in raised.value.reason
        time.sleep(0.5)
        assert distrustful.lines() == []
        assert distrustful.process is not None
        assert "signer not found" in distrustful.process.output()  # rsyslog's own reason
    finally:
        sender.close()
        distrustful.stop()


class AnonymousSender(TlsSyslogSender):
    """A node that forgot its certificate."""

    def _context(self) -> ssl.SSLContext:
        return client_context(ca_file=self.ca_file)


@pytest.mark.integration
def test_a_sender_without_a_client_certificate_is_refused(
        hie: DemoCertificates, repository: RsyslogServer) -> None:
    marker = uuid.uuid4().hex
    anonymous = AnonymousSender("127.0.0.1", repository.port, ca_file=hie.ca.cert, cert_file="",
                                key_file="")
    with pytest.raises(AuditTransportError):
        anonymous.send([message(marker)])
    anonymous.close()
    time.sleep(0.5)
    assert with_marker(repository, marker) == []


@pytest.mark.integration
def test_unreadable_certificate_files_make_send_fail(
        tmp_path: Path, hie: DemoCertificates, repository: RsyslogServer) -> None:
    sender = TlsSyslogSender("127.0.0.1", repository.port, ca_file=hie.ca.cert,
                             cert_file=tmp_path / "missing.pem", key_file=tmp_path / "missing-key.pem")
    with pytest.raises(AuditTransportError, match="TLS files"):
        sender.send([message("m")])


# --- UdpSyslogSender (RFC 5426): one datagram per message, loss never raised.

def test_udp_sends_one_datagram_per_message() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sender = UdpSyslogSender("127.0.0.1", receiver.getsockname()[1])
        sender.send([message("a", 1), message("b", 2)])
        sender.close()
        assert [parse(receiver.recv(65535)).sequence_id for _ in range(2)] == [1, 2]


def test_udp_never_raises_for_a_message_it_cannot_deliver() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sender = UdpSyslogSender("127.0.0.1", port)
    sender.send([message("lost", 1), message("too big", 2, padding=70_000), message("lost", 3)])
    sender.close()
    UdpSyslogSender("no-such-host.invalid", 514).send([message("unresolvable")])


@pytest.mark.integration
def test_a_repository_whose_certificate_another_ca_signed_is_not_trusted(
        tmp_path: Path, hie: DemoCertificates, repository: RsyslogServer) -> None:
    stranger = write_demo_certs(tmp_path / "stranger", clients=[])
    node = hie.clients["hienode"]
    misled = TlsSyslogSender("127.0.0.1", repository.port, ca_file=stranger.ca.cert,
                             cert_file=node.cert, key_file=node.key)
    with pytest.raises(AuditTransportError, match="certificate is not trusted"):
        misled.send([message("misled")])
