"""docker/rsyslog/rsyslog.conf run by a real rsyslogd on loopback, with the certificates
docker/make-demo-certs.sh makes: the audit repository the compose topology starts."""

from __future__ import annotations

import contextlib
import glob
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit.syslog import TlsSyslogSender
from tests.docker.layout import DOCKER
from tests.servers.process import ServerProcess, free_port, require_binary

pytestmark = pytest.mark.integration


@dataclass
class AuditRepository:
    port: int
    certs: Path
    log: Path

    def send(self, message: str) -> None:
        """One record through the node's own syslog sender: RFC 5425 over mutual TLS."""
        sender = TlsSyslogSender("127.0.0.1", self.port, ca_file=self.certs / "ca.pem",
                                 cert_file=self.certs / "node.pem",
                                 key_file=self.certs / "node-key.pem", timeout=10)
        try:
            sender.send([message.encode()])
        finally:
            sender.close()

    def send_without_certificate(self, message: str) -> None:
        """One RFC 5425 frame (octet-counted) over TLS, from a client with no certificate."""
        context = ssl.create_default_context(cafile=str(self.certs / "ca.pem"))
        data = message.encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="rsyslog") as tls:
            tls.sendall(f"{len(data)} ".encode() + data)

    def wait_for(self, marker: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists():
                for line in self.log.read_text(errors="replace").splitlines():
                    if marker in line:
                        return line
            time.sleep(0.1)
        raise AssertionError(f"{marker} never reached {self.log}")


@pytest.fixture(scope="module")
def audit_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditRepository]:
    rsyslogd = require_binary("rsyslogd", "/usr/sbin/rsyslogd")
    require_binary("rsyslog-gnutls", *glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"))
    require_binary("openssl")
    base = tmp_path_factory.mktemp("rsyslog")
    subprocess.run([str(DOCKER / "make-demo-certs.sh"), str(base)], check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    # The compose image's configuration, moved from its container paths into this folder.
    conf = (DOCKER / "rsyslog" / "rsyslog.conf").read_text()
    for container_path, here in (("/etc/rsyslog/certs", base / "rsyslog" / "certs"),
                                 ("/var/log/atna", base / "log"),
                                 ("/var/spool/rsyslog", base)):
        assert container_path in conf
        conf = conf.replace(container_path, str(here))
    conf = conf.replace('port="6514"', f'port="{port}"')
    (base / "rsyslog.conf").write_text(conf)
    check = subprocess.run([rsyslogd, "-N1", "-f", str(base / "rsyslog.conf")],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    process = ServerProcess("rsyslogd", [rsyslogd, "-n", "-iNONE", "-f", str(base / "rsyslog.conf")],
                            log_dir=base).start()
    try:
        process.wait_for_port(port)
        yield AuditRepository(port=port, certs=base / "certs", log=base / "log" / "audit.log")
    finally:
        process.stop()


def audit_message(marker: str, size: int = 0) -> str:
    xml = f'<AuditMessage>\n  <EventIdentification EventActionCode="R" id="{marker}"/>\n'
    return (f"<85>1 2025-01-01T00:00:00.000Z hienode hienode - IHE+RFC-3881 - "
            f"\ufeff{xml}{'x' * size}</AuditMessage>")


def test_the_audit_repository_stores_a_record_sent_over_mutual_tls(
        audit_repository: AuditRepository) -> None:
    marker = uuid.uuid4().hex
    audit_repository.send(audit_message(marker))
    line = audit_repository.wait_for(marker)
    assert line.startswith("<85>1 ")
    assert "IHE+RFC-3881" in line


def test_the_audit_repository_keeps_a_large_record_whole_on_one_line(
        audit_repository: AuditRepository) -> None:
    # Past rsyslog's defaults: 8k per message, 200000 bytes per frame.
    marker = uuid.uuid4().hex
    audit_repository.send(audit_message(marker, size=600_000))
    line = audit_repository.wait_for(marker)
    assert line.endswith("</AuditMessage>")
    assert "#012" in line  # the XML's line breaks, escaped
    assert len(line) > 600_000


def test_the_audit_repository_refuses_a_sender_without_a_client_certificate(
        audit_repository: AuditRepository) -> None:
    refused, accepted = uuid.uuid4().hex, uuid.uuid4().hex
    # TLS 1.2 fails the handshake; TLS 1.3 lets the client write, then drops the connection.
    with contextlib.suppress(ssl.SSLError, OSError):
        audit_repository.send_without_certificate(audit_message(refused))
    audit_repository.send(audit_message(accepted))
    audit_repository.wait_for(accepted)
    assert refused not in audit_repository.log.read_text(errors="replace")
