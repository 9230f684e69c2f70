"""What every fault test shares: the scaled topology (PostgreSQL and Redis), and a node of its own.

These tests restart the servers the session shares, so they run in a session of their own
(`make stress`: STRESS=1, TEST_DATABASE=postgresql), never beside `make test`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES

# Hospital A's and B's PACSs for the prefetch jobs of the Redis restart (imported as fixtures).
from tests.imaging.prefetch.conftest import exchange, pacs  # noqa: F401
from tests.servers.node import Node

# A line per request would bury the figures the tests print.
logging.getLogger("httpx").setLevel(logging.WARNING)

STRESS_MARKS = [pytest.mark.stress, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _scaled_topology() -> None:
    if not ON_POSTGRES:
        pytest.skip("the fault tests run on the scaled topology: TEST_DATABASE=postgresql (make stress)")


@pytest.fixture
def own_node(tmp_path_factory: pytest.TempPathFactory,
             node_environment: dict[str, str]) -> Iterator[Callable[..., Node]]:
    """`own_node(**env)`: a node of the test's own, stopped when the test ends, before its data goes."""
    started: list[Node] = []

    def make(**env: str) -> Node:
        node = Node(base=tmp_path_factory.mktemp("stress-node"), env={**node_environment, **env})
        started.append(node)
        return node

    yield make
    for node in started:
        node.stop()


def eventually(check: Callable[[], object], *, timeout: float, what: str, poll: float = 0.2,
               log: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = f"\n{log()[-4000:]}" if log else ""
            raise AssertionError(f"{what}: not after {timeout} s{tail}")
        time.sleep(poll)


def store_files(node: Node) -> set[str]:
    """The keys of the document bytes in the node's file store, partial files included."""
    root = Path(node.env["VAR_DIR"]) / "documents"
    if not root.exists():
        return set()
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}
