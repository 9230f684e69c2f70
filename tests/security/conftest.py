"""Fixtures of the hostile-input and access-control tests: the node's real processes on loopback."""

from __future__ import annotations

import time

import pytest

from tests.servers.node import Node


@pytest.fixture
def web(node: Node) -> Node:
    return node.start("web")


@pytest.fixture
def dicom(node: Node) -> Node:
    return node.start("dicom")


def security_alerts(matches: str, *, timeout: float = 10.0) -> list[str]:
    """Descriptions of the Security Alerts (DCM 110113) containing `matches`, waiting for the
    node's process to commit one; AssertionError when none comes."""
    from audit.models import AuditEvent

    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = [event.record["outcome_description"]
                for event in AuditEvent.objects.filter(event_id="110113")]
        found = [text for text in seen if matches in text]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no Security Alert mentions {matches!r}; there are: {seen}")
