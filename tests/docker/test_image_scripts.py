"""docker/entrypoint.sh and docker/healthcheck.py, run as the image runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.docker.layout import DOCKER
from tests.servers.process import free_port

ENTRYPOINT = DOCKER / "entrypoint.sh"
HEALTHCHECK = DOCKER / "healthcheck.py"


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A `python` first on PATH that records its arguments and exits with $FAKE_PYTHON_STATUS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "python"
    script.write_text(
        '#!/bin/sh\necho "$@" >> "$FAKE_PYTHON_LOG"\nexit "${FAKE_PYTHON_STATUS:-0}"\n'
    )
    script.chmod(0o755)
    return bin_dir


def run_entrypoint(fake_python: Path, tmp_path: Path,
                   **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = tmp_path / "python.log"
    log.touch()
    environ = {"PATH": f"{fake_python}:{os.environ['PATH']}", "FAKE_PYTHON_LOG": str(log), **env}
    done = subprocess.run([str(ENTRYPOINT), "echo", "the process ran"], env=environ,
                          capture_output=True, text=True, timeout=30, check=False)
    return done, log.read_text().splitlines()


def test_the_entrypoint_runs_the_process_without_migrating_by_default(
        fake_python: Path, tmp_path: Path) -> None:
    done, python_calls = run_entrypoint(fake_python, tmp_path)
    assert done.returncode == 0
    assert done.stdout == "the process ran\n"
    assert python_calls == []


def test_the_entrypoint_migrates_first_when_asked(fake_python: Path, tmp_path: Path) -> None:
    done, python_calls = run_entrypoint(fake_python, tmp_path, RUN_MIGRATIONS="1")
    assert done.returncode == 0
    assert python_calls == ["manage.py migrate --noinput"]
    assert done.stdout == "the process ran\n"


def test_the_entrypoint_does_not_start_the_process_when_migrating_fails(
        fake_python: Path, tmp_path: Path) -> None:
    done, _ = run_entrypoint(fake_python, tmp_path, RUN_MIGRATIONS="1", FAKE_PYTHON_STATUS="3")
    assert done.returncode == 3
    assert "the process ran" not in done.stdout


class HealthPage:
    """A stand-in for /healthz answering a fixed status and JSON body."""

    def __init__(self) -> None:
        self.status = 200
        self.body: dict[str, object] = {}
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = json.dumps(page.body).encode()
                self.send_response(page.status if self.path == "/healthz" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def report(self, status: int, *, database_ok: bool) -> None:
        self.status = status
        self.body = {"status": "ok" if status == 200 else "fail", "checks": {
            "database": {"ok": database_ok}, "mllp": {"ok": False, "error": "ConnectionRefused"},
        }}


@pytest.fixture
def health_page() -> Iterator[HealthPage]:
    page = HealthPage()
    thread = threading.Thread(target=page.server.serve_forever, daemon=True)
    thread.start()
    yield page
    page.server.shutdown()
    page.server.server_close()


def healthcheck(port: int) -> int:
    done = subprocess.run([sys.executable, str(HEALTHCHECK)], env={"HTTP_PORT": str(port)},
                          capture_output=True, timeout=30, check=False)
    return done.returncode


def test_web_is_healthy_when_healthz_answers_and_the_database_check_passes(
        health_page: HealthPage) -> None:
    health_page.report(200, database_ok=True)
    assert healthcheck(health_page.port) == 0


def test_web_is_healthy_while_other_containers_parts_fail(health_page: HealthPage) -> None:
    # The listeners run in their own containers: their checks fail here, the page answers 503.
    health_page.report(503, database_ok=True)
    assert healthcheck(health_page.port) == 0


def test_web_is_unhealthy_when_its_database_check_fails(health_page: HealthPage) -> None:
    health_page.report(503, database_ok=False)
    assert healthcheck(health_page.port) == 1


def test_web_is_unhealthy_when_nothing_answers() -> None:
    assert healthcheck(free_port()) == 1
