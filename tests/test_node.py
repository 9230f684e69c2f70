"""The whole node as `make serve` runs it: every Procfile process up and /healthz all green.

Each listener's own client tests are beside its package: tests/soap, tests/mllp (mllp_send),
tests/imaging (echoscu, storescu, Orthanc).
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import ON_POSTGRES, needs_node
from tests.servers.node import Node, procfile_commands

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


def test_the_procfile_lists_the_five_processes() -> None:
    assert set(procfile_commands()) == {"web", "worker", "beat", "mllp", "dicom"}


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
