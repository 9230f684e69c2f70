"""The node's own processes (web, webtls, worker, beat, mllp, dicom), started as `make serve` starts them."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def procfile_commands() -> dict[str, str]:
    """The Procfile's process types and their command lines: the one place they are written."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


@dataclass
class Node:
    """A running node: its ports, its environment, and the processes started so far.

    With TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE in `env`, `webtls` can start, and `mllp`
    and `dicom` listen on their TLS ports too (ITI-19).
    """

    base: Path
    env: dict[str, str]
    http_port: int = field(default_factory=free_port)
    mllp_port: int = field(default_factory=free_port)
    dicom_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    mllp_tls_port: int = field(default_factory=free_port)
    dicom_tls_port: int = field(default_factory=free_port)
    processes: dict[str, ServerProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **self.env,
            "VAR_DIR": str(self.base / "var"),
            "HTTP_PORT": str(self.http_port),
            "MLLP_PORT": str(self.mllp_port),
            "DICOM_PORT": str(self.dicom_port),
            "HTTPS_PORT": str(self.https_port),
            "MLLP_TLS_PORT": str(self.mllp_tls_port),
            "DICOM_TLS_PORT": str(self.dicom_tls_port),
            "BIND_ADDRESS": "127.0.0.1",
            "SOAP_ECHO_ENABLED": "1",
            # Small enough that the oversize tests stay quick, big enough for 10 MB round trips.
            "SOAP_MAX_PART_BYTES": str(16 * 1024 * 1024),
            "HEARTBEAT_SECONDS": "2",
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def tls(self) -> bool:
        return all(self.env.get(name) for name in ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"))

    @property
    def soap_temp_dir(self) -> Path:
        return Path(self.env.get("SOAP_TEMP_DIR", self.base / "var" / "tmp" / "soap"))

    def start(self, *names: str) -> Node:
        commands = procfile_commands()
        ports = {"web": [self.http_port], "webtls": [self.https_port], "mllp": [self.mllp_port],
                 "dicom": [self.dicom_port]}
        if self.tls:
            ports["mllp"].append(self.mllp_tls_port)
            ports["dicom"].append(self.dicom_tls_port)
        for name in names:
            if name in self.processes and self.processes[name].alive():
                continue
            process = ServerProcess(
                name, ["sh", "-c", f"exec {commands[name]}"], log_dir=self.base, env=self.env,
                cwd=ROOT,
            ).start()
            self.processes[name] = process
            for port in ports.get(name, []):
                process.wait_for_port(port, timeout=90)
        return self

    def stop(self) -> None:
        """All processes told to stop at once, then given a few seconds together: a worker's warm
        shutdown waits for a task in its backoff, and its jobs are acked late, so a test run's end
        need not wait for it."""
        running = list(reversed(list(self.processes.values())))
        for process in running:
            process.terminate()
        for process in running:
            process.stop(timeout=5.0)
