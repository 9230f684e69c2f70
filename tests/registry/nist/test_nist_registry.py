"""The NIST XDS Toolkit's Document Registry tests, run against the real web process.

One test per (NIST test, section), in the order of the test's index.idx. The database is emptied
between tests (`needs_node` tests are transactional), so each test first replays the sections
before its own, which must behave as their plans say, then runs its own section.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from registry import services
from tests.conftest import needs_node
from tests.registry.nist.driver import Run, sections
from tests.servers.node import Node

pytestmark = needs_node

TESTS = ["11990", "11991", "11992", "11993", "11994", "11995", "11996", "11997", "11998", "11999",
         "12000", "12001", "12002", "12004", "12084", "12346"]
# What the node does not do the way a NIST plan expects: each an expected failure, strict.
XFAIL: dict[tuple[str, str], str] = {}


def _params() -> list[object]:
    params: list[object] = []
    for test_id in TESTS:
        for section in sections(test_id):
            reason = XFAIL.get((test_id, section))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(test_id, section, id=f"{test_id}_{section}", marks=marks))
    return params


@pytest.fixture(scope="module")
def web(node: Node) -> Iterator[Node]:
    node.start("web")
    yield node


@pytest.fixture
def client(web: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=60) as http:
        yield http


def _register_patient(patient_id: str) -> None:
    services.patient_identity_register(patient_id=patient_id)


@pytest.mark.parametrize(("test_id", "section"), _params())
def test_nist(client: httpx.Client, test_id: str, section: str) -> None:
    run = Run(test_id=test_id, client=client, register_patient=_register_patient)
    order = sections(test_id)
    for earlier in order[:order.index(section)]:
        run.run(earlier)
    run.run(section)
