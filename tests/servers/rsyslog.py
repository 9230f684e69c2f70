"""A throwaway rsyslogd as the ATNA audit record repository: RFC 5425 over mutual TLS on loopback."""

from __future__ import annotations

import glob
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.process import ServerProcess, free_port, require_binary

# Above the largest record a test sends: rsyslog's defaults (8k per message, 200000 octets per
# frame) would cut a big record short or drop the session.
MAX_MESSAGE = 2 * 1024 * 1024

CONFIG = """\
global(
    maxMessageSize="{max_message}"
    workDirectory="{work}"
    defaultNetstreamDriver="gtls"
    defaultNetstreamDriverCAFile="{ca_file}"
    defaultNetstreamDriverCertFile="{cert_file}"
    defaultNetstreamDriverKeyFile="{key_file}"
)
# Mode 1: TLS only. x509/certvalid: any client certificate the CA signed (ITI-19).
module(
    load="imtcp"
    streamDriver.name="gtls"
    streamDriver.mode="1"
    streamDriver.authMode="x509/certvalid"
    maxFrameSize="{max_message}"
)
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="atna")
# Each record exactly as received (framing removed), one per line: control characters such as
# the XML's line breaks arrive escaped (#012).
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="atna") {{
    action(type="omfile" file="{log}" template="raw")
}}
"""


@dataclass
class RsyslogServer:
    """rsyslogd on 127.0.0.1:`port`, writing each received record as one line of `log`."""

    binary: str
    base: Path
    certs: Path
    client_ca: Path
    port: int = field(default_factory=free_port)
    process: ServerProcess | None = None

    @property
    def log(self) -> Path:
        return self.base / "audit.log"

    @property
    def config(self) -> Path:
        return self.base / "rsyslog.conf"

    def write_config(self) -> None:
        (self.base / "work").mkdir(parents=True, exist_ok=True)
        self.config.write_text(CONFIG.format(
            max_message=MAX_MESSAGE, work=self.base / "work", port=self.port, log=self.log,
            ca_file=self.client_ca,
            cert_file=self.certs / "server.pem", key_file=self.certs / "server-key.pem",
        ))
        check = subprocess.run([self.binary, "-N1", "-f", str(self.config)],
                               capture_output=True, text=True, timeout=60, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"rsyslogd rejects {self.config}:\n{check.stdout}{check.stderr}")

    def start(self) -> RsyslogServer:
        """Start (again) on the same port, appending to the same log."""
        if self.process is not None and self.process.alive():
            return self
        self.process = ServerProcess(
            "rsyslogd",
            [self.binary, "-n", "-f", str(self.config), "-i", str(self.base / "rsyslogd.pid")],
            log_dir=self.base,
        ).start()
        self.process.wait_for_port(self.port, timeout=30)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def lines(self) -> list[bytes]:
        if not self.log.exists():
            return []
        return self.log.read_bytes().splitlines()

    def wait_for(self, until: int | Callable[[list[bytes]], bool], timeout: float = 15.0) -> list[bytes]:
        """The log's lines once there are `until` of them, or once `until(lines)` is true."""
        done = (lambda lines: len(lines) >= until) if isinstance(until, int) else until
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if done(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.log} has {len(lines)} line(s) after {timeout} s")
            time.sleep(0.05)


def start_rsyslog(base: Path, *, certs: Path, client_ca: Path | None = None) -> RsyslogServer:
    """rsyslogd presenting `certs`/server.pem and accepting clients signed by `certs`/ca.pem, or by
    `client_ca` instead (a CA that does not know the node: every client is rejected)."""
    binary = require_binary("rsyslogd", "/usr/sbin/rsyslogd")
    require_binary("rsyslog-gnutls", *glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"))
    base.mkdir(parents=True, exist_ok=True)
    server = RsyslogServer(binary=binary, base=base, certs=certs,
                           client_ca=client_ca or certs / "ca.pem")
    server.write_config()
    return server.start()
