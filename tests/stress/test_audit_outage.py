"""The audit record repository (rsyslogd, RFC 5425 over mutual TLS) down for ten minutes while hospital
B's consumer keeps querying the node: every record, the outage's own alert included, arrives once
and in sequenceId order after the repository is back (ITI TF-2a 3.20.4.1: records are not lost).

STRESS_AUDIT_DOWN_SECONDS (default 600) sets how long the repository stays down.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from audit.models import AuditChain, AuditEvent
from bench.bench_registry import APPROVED, FIND_DOCUMENTS, ITI18, _headers, _query
from lib.demo_ca import DemoCertificates, write_demo_certs
from registry import services as registry
from tests.audit.test_forwarding import audit_environment, sequence_ids, start_worker, stop_worker
from tests.registry.submissions import CHIP_MOORE
from tests.servers.node import Node
from tests.servers.rsyslog import RsyslogServer, start_rsyslog
from tests.stress.conftest import STRESS_MARKS, eventually

DOWN_SECONDS = float(os.environ.get("STRESS_AUDIT_DOWN_SECONDS", "600"))
CLIENTS = 2
# The worker's longest wait between attempts (config/settings.py's default, kept: it is what a
# real outage meets).
MAX_BACKOFF_SECONDS = 60

pytestmark = [*STRESS_MARKS, pytest.mark.timeout(DOWN_SECONDS + 900)]


@pytest.fixture
def hie(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """The exchange's CA, the repository's server certificate, the node's client certificate."""
    return write_demo_certs(tmp_path_factory.mktemp("hie"), clients=["hienode"])


@pytest.fixture
def repository(tmp_path_factory: pytest.TempPathFactory, hie: DemoCertificates) -> Iterator[RsyslogServer]:
    server = start_rsyslog(tmp_path_factory.mktemp("rsyslog"), certs=hie.ca.cert.parent)
    yield server
    server.stop()


def test_records_written_during_a_long_repository_outage_under_load_all_arrive_once_in_order(
        own_node: Callable[..., Node], node_environment: dict[str, str], hie: DemoCertificates,
        repository: RsyslogServer) -> None:
    registry.patient_identity_register(patient_id=CHIP_MOORE)
    # A Redis database of its own: kicks other tests' nodes left queued are not this worker's.
    broker = node_environment["CELERY_BROKER_URL"].rsplit("/", 1)[0] + "/3"
    node = own_node(**audit_environment(hie, repository.port), CELERY_BROKER_URL=broker,
                    AUDIT_FORWARD_SECONDS="1", AUDIT_FORWARD_MAX_BACKOFF_SECONDS=str(MAX_BACKOFF_SECONDS),
                    LOG_LEVEL="WARNING")
    node.start("web")
    start_worker(node)
    node.start("beat")
    repository.stop()

    answered = query_for(node, DOWN_SECONDS)
    chain = AuditChain.objects.filter(pk=1).first()
    assert chain is not None and chain.failing_since is not None, "the outage went unnoticed"
    assert not AuditEvent.objects.filter(sent_at__isnull=False).exists()
    queries = AuditEvent.objects.filter(event_id="110112").count()
    assert queries >= answered > 0

    repository.start()
    expected = AuditEvent.objects.count()
    lines = repository.wait_for(expected, timeout=MAX_BACKOFF_SECONDS + 300)
    time.sleep(2)  # nothing more may come
    assert sequence_ids(repository.lines()) == list(range(1, expected + 1)), len(lines)
    eventually(lambda: not AuditEvent.objects.filter(sent_at__isnull=True).exists(), timeout=30,
               what="delivered records were not marked sent")
    chain = AuditChain.objects.get(pk=1)
    assert chain.failing_since is None
    print(f"{answered} ITI-18 queries answered during a {DOWN_SECONDS:.0f} s outage; "
          f"{expected} records delivered after it")
    stop_worker(node)


def query_for(node: Node, seconds: float) -> int:
    """ITI-18 FindDocuments from CLIENTS threads for `seconds`; how many were answered."""
    body = _query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{CHIP_MOORE}'",
                                   "$XDSDocumentEntryStatus": f"('{APPROVED}')"})
    answered = [0] * CLIENTS
    refused: list[str] = []
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        with httpx.Client(base_url=node.url, timeout=60) as http:
            while time.monotonic() < deadline:
                response = http.post("/xds/registry", content=body, headers=_headers(ITI18))
                if response.status_code != 200 or b"ResponseStatusType:Success" not in response.content:
                    refused.append(response.text[:1000])
                    return
                answered[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not refused, refused
    return sum(answered)
