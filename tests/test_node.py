"""The whole node as `make serve` runs it: every Procfile process up and /healthz all green.

Each listener's own client tests are beside its package: tests/soap, tests/mllp (mllp_send),
tests/imaging (echoscu, storescu, Orthanc).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ON_POSTGRES, needs_node
from tests.servers.node import ROOT, Node, procfile_commands

pytestmark = needs_node


def wait_healthy(node: Node, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{node.url}/healthz", timeout=30)
        body = response.json()
        if response.status_code == 200:
            return body
        time.sleep(1)
    raise AssertionError(f"/healthz never turned green: {body}")


def test_the_procfile_lists_the_six_processes() -> None:
    assert set(procfile_commands()) == {"web", "webtls", "worker", "beat", "mllp", "dicom"}


def honcho_arguments_of_make_serve(tmp_path: Path, env: dict[str, str]) -> str:
    """What scripts/serve hands honcho, run beside a stand-in python and honcho."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "serve", tmp_path / "scripts" / "serve")
    shutil.copy(ROOT / "Procfile", tmp_path / "Procfile")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, body in (("python", "exit 0"), ("honcho", 'echo "$@"')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    done = subprocess.run([str(tmp_path / "scripts" / "serve")], capture_output=True, text=True,
                          check=True, timeout=30, env={"PATH": os.environ["PATH"], **env})
    return done.stdout.strip()


def test_make_serve_leaves_webtls_out_while_tls_is_not_configured(tmp_path: Path) -> None:
    assert honcho_arguments_of_make_serve(tmp_path, {"TLS_CERT_FILE": "node.pem"}) == (
        "start --procfile Procfile web worker beat mllp dicom")


def test_make_serve_runs_webtls_too_once_tls_is_configured(tmp_path: Path) -> None:
    tls = {"TLS_CERT_FILE": "node.pem", "TLS_KEY_FILE": "node-key.pem", "TLS_CA_FILE": "ca.pem"}
    assert honcho_arguments_of_make_serve(tmp_path, tls) == "start --procfile Procfile"


def test_every_process_starts_and_healthz_is_all_green(node: Node) -> None:
    node.start("web", "worker", "beat", "mllp", "dicom")
    body = wait_healthy(node)
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker", "disk", "mllp", "dicom"}
    assert all(check["ok"] for check in body["checks"].values()), body
    # The PostgreSQL run serves the scaled topology: PostgreSQL and Redis, not the embedded default.
    expected = ("postgresql", "redis") if ON_POSTGRES else ("sqlite", "sqla")
    assert body["checks"]["database"]["vendor"] == expected[0]
    assert expected[1] in body["checks"]["broker"]["transport"].lower()


def test_healthz_turns_red_when_a_listener_is_down(node: Node) -> None:
    node.start("web", "worker", "beat", "mllp", "dicom")
    wait_healthy(node)
    node.processes["mllp"].stop()
    try:
        response = httpx.get(f"{node.url}/healthz", timeout=30)
        assert response.status_code == 503
        assert response.json()["checks"]["mllp"]["ok"] is False
    finally:
        node.start("mllp")


def test_the_registry_wsdl_downloads(node: Node) -> None:
    node.start("web")
    response = httpx.get(f"{node.url}/xds/registry?wsdl")
    assert response.status_code == 200
    assert b"DocumentRegistry" in response.content


@pytest.mark.parametrize("path", ["/admin/login/", "/static/admin/css/base.css"])
def test_the_admin_answers_with_its_styles(node: Node, path: str) -> None:
    node.start("web")
    response = httpx.get(f"{node.url}{path}")
    assert response.status_code == 200
