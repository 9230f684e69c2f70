"""audit/forwarding.py against a real rsyslogd over mutual TLS and the node's real worker and beat.

Each test's docstring says who forwards: the node's Celery worker (fired by beat, or by the
on-commit kicks of the node's own processes), or `forward_pending()` called here in the test
process. Records written here kick nobody (the test process's broker is in memory): beat finds them.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from audit import forwarding, services
from audit.events import Peer, query, this_node
from audit.forwarding import forward_pending, wire_sequence_id
from audit.models import AuditChain, AuditEvent
from audit.records import AuditRecord
from lib.demo_ca import DemoCertificates, write_demo_certs
from tests.audit.test_syslog import BOM, parse
from tests.conftest import ON_POSTGRES, needs_node
from tests.servers.node import Node
from tests.servers.rsyslog import RsyslogServer, start_rsyslog
from tests.soap.messages import envelope

pytestmark = needs_node

# Short enough for tests that wait them out; config/settings.py states the real defaults.
LEASE_SECONDS = 8
MAX_BACKOFF_SECONDS = 2
FORWARD_SECONDS = 1

HOSPITAL_B_CONSUMER = Peer("http://hospb.example/consumer", host="10.2.0.10")


# --- The audit repository and the node, for this module alone.

@pytest.fixture(scope="module")
def hie(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """The exchange's CA, the repository's server certificate, the node's client certificate."""
    return write_demo_certs(tmp_path_factory.mktemp("hie"), clients=["hienode"])


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """Another exchange's CA: a repository trusting only it refuses the node."""
    return write_demo_certs(tmp_path_factory.mktemp("stranger"), clients=[])


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory: pytest.TempPathFactory, hie: DemoCertificates) -> Iterator[RsyslogServer]:
    server = start_rsyslog(tmp_path_factory.mktemp("rsyslog"), certs=hie.ca.cert.parent)
    yield server
    server.stop()


@pytest.fixture
def repository(rsyslog: RsyslogServer) -> RsyslogServer:
    """The module's rsyslogd, trusting the node, with an empty file: each test's sequenceIds start at 1."""
    return restart(rsyslog)


def restart(server: RsyslogServer, *, client_ca: Path | None = None, running: bool = True) -> RsyslogServer:
    """The same port and file name, an empty file, and `client_ca` as the CA of its clients."""
    server.stop()
    server.log.unlink(missing_ok=True)
    server.client_ca = client_ca or server.certs / "ca.pem"
    server.write_config()
    return server.start() if running else server


def audit_environment(hie: DemoCertificates, port: int) -> dict[str, str]:
    node = hie.clients["hienode"]
    return {
        "AUDIT_SYSLOG_URL": f"tls://127.0.0.1:{port}",
        "AUDIT_SYSLOG_CA_FILE": str(hie.ca.cert),
        "AUDIT_SYSLOG_CERT_FILE": str(node.cert),
        "AUDIT_SYSLOG_KEY_FILE": str(node.key),
    }


def own_broker(node_environment: dict[str, str], base: Path, database: int) -> dict[str, str]:
    """A broker no other node of the session consumes from: its tasks are this node's."""
    if ON_POSTGRES:
        return {"CELERY_BROKER_URL": re.sub(r"/\d+$", f"/{database}", node_environment["CELERY_BROKER_URL"])}
    return {"CELERY_BROKER_URL": f"sqla+sqlite:///{base / 'broker.sqlite3'}"}


@pytest.fixture(scope="module")
def audit_node(tmp_path_factory: pytest.TempPathFactory, node_environment: dict[str, str],
               hie: DemoCertificates, rsyslog: RsyslogServer) -> Iterator[Node]:
    """A node of its own, forwarding to `rsyslog`; its processes are started by each test."""
    base = tmp_path_factory.mktemp("forwarding-node")
    env = {**node_environment, **own_broker(node_environment, base, 1),
           **audit_environment(hie, rsyslog.port), "AUDIT_FORWARD_SECONDS": str(FORWARD_SECONDS)}
    env["AUDIT_FORWARD_LEASE_SECONDS"] = str(LEASE_SECONDS)
    env["AUDIT_FORWARD_MAX_BACKOFF_SECONDS"] = str(MAX_BACKOFF_SECONDS)
    running = Node(base=base, env=env)
    yield running
    running.stop()


@pytest.fixture
def forwarder(audit_node: Node) -> Iterator[Node]:
    """The node with its worker and beat running; stopped after the test, before its data goes."""
    start_worker(audit_node)
    audit_node.start("beat")
    yield audit_node
    stop_worker(audit_node)
    for name in ("beat", "web"):
        if name in audit_node.processes:
            audit_node.processes[name].stop()


def start_worker(node: Node, timeout: float = 60) -> None:
    """The worker started, once it says it is ready to take tasks."""
    log = node.base / "worker.log"
    offset = log.stat().st_size if log.exists() else 0
    node.start("worker")
    eventually(lambda: b" ready." in log.read_bytes()[offset:], timeout=timeout,
               what="the worker never became ready")


def stop_worker(node: Node) -> None:
    """A warm shutdown, asked of the worker's main process: it stops its pool itself. (SIGTERM to
    the whole process group makes the main process restart its pool, and it lingers until killed.)"""
    worker = node.processes.get("worker")
    if worker is None or not worker.alive():
        return
    os.kill(worker.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        assert worker.process is not None
        worker.process.wait(timeout=15)
    worker.stop()


@pytest.fixture
def in_process(hie: DemoCertificates, rsyslog: RsyslogServer) -> Iterator[RsyslogServer]:
    """The test process's own settings pointing at `rsyslog`, for forward_pending() called here."""
    with override_settings(**audit_environment(hie, rsyslog.port),
                           AUDIT_FORWARD_MAX_BACKOFF_SECONDS=MAX_BACKOFF_SECONDS):
        yield rsyslog


# --- Helpers: records written here, what the repository holds, what the worker said.

def a_query(n: int) -> AuditRecord:
    return query(transaction="ITI-18", sender=HOSPITAL_B_CONSUMER,
                 receiver=this_node("http://hienode.example/xds/registry"),
                 raw_query=b"<AdhocQueryRequest/>", query_id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
                 patient_ids=[f"B{n:06d}^^^&1.3.6.1.4.1.21367.13.20.2000&ISO"])


def record_committed(count: int, *, per_transaction: int = 500) -> None:
    """`count` query records, committed here in transactions of `per_transaction`."""
    for first in range(0, count, per_transaction):
        with transaction.atomic():
            for n in range(first, min(count, first + per_transaction)):
                services.record(a_query(n))


def sequence_ids(lines: list[bytes]) -> list[int]:
    return [parse(line).sequence_id for line in lines]


def head() -> AuditChain:
    return AuditChain.objects.get(pk=1)


def eventually(check: Callable[[], object], *, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s")
        time.sleep(poll)


def failing() -> bool:
    chain = AuditChain.objects.filter(pk=1).first()
    return chain is not None and chain.failing_since is not None


ATTEMPT = "audit repository did not confirm delivery"
STAMP = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3})")


def attempts(log: str) -> list[datetime]:
    """When the worker logged a failed delivery, in order."""
    moments = []
    for line in log.splitlines():
        found = STAMP.search(line)
        if ATTEMPT in line and found:
            moments.append(datetime.strptime(found[1].replace("T", " ").replace(".", ","),
                                             "%Y-%m-%d %H:%M:%S,%f"))
    return moments


# --- Collector down, then up.

def test_records_written_while_the_repository_is_down_all_arrive_in_order_each_once(
        forwarder: Node, rsyslog: RsyslogServer) -> None:
    """The node's worker forwards, fired by beat; the 1,000 records are committed here."""
    restart(rsyslog, running=False)
    record_committed(1_000)
    eventually(failing, timeout=20, what="the forwarder never found the repository down")
    expected = 1_001  # the 1,000 and the alert the failure raised
    eventually(lambda: AuditEvent.objects.count() == expected, timeout=10, what="no alert")
    assert not AuditEvent.objects.filter(sent_at__isnull=False).exists()

    rsyslog.start()
    lines = rsyslog.wait_for(expected, timeout=30)
    time.sleep(1)  # nothing more may come
    assert sequence_ids(rsyslog.lines()) == list(range(1, expected + 1))
    eventually(lambda: not AuditEvent.objects.filter(sent_at__isnull=True).exists(), timeout=10,
               what="delivered records were not marked sent")
    assert head().failing_since is None and head().last_error == ""
    assert all(parse(line).msg.startswith(BOM + b"<?xml") for line in lines)


# --- Collector refusing the node's certificate.

def test_a_repository_refusing_the_node_gets_nothing_marked_sent_and_raises_one_alert(
        forwarder: Node, rsyslog: RsyslogServer, stranger: DemoCertificates) -> None:
    """The node's worker forwards, fired by beat; records are committed here.

    The repository trusts another exchange's CA only: under TLS 1.3 the node's handshake
    completes, and only the probe after each batch sees the repository hang up.
    """
    restart(rsyslog, client_ca=stranger.ca.cert)
    worker = forwarder.processes["worker"]
    log_start = len(worker.output())
    record_committed(200)
    eventually(failing, timeout=20, what="the refusal was never noticed")
    eventually(lambda: len(attempts(worker.output()[log_start:])) >= 3, timeout=20,
               what="the forwarder did not try again")

    chain = head()
    assert chain.failing_since is not None
    # The refusal shows at the probe after a batch, or when the next write finds the session gone.
    assert ("delivery of" in chain.last_error and "unknown" in chain.last_error) or \
        "failed" in chain.last_error, chain.last_error
    assert not AuditEvent.objects.filter(sent_at__isnull=False).exists()
    alerts = AuditEvent.objects.filter(event_id="110113")
    assert alerts.count() == 1  # once for the episode, not once per attempt
    assert "unreachable or refused" in alerts.get().record["outcome_description"]
    assert AuditEvent.objects.count() == 201  # every record kept
    assert rsyslog.lines() == []
    assert rsyslog.process is not None and "signer not found" in rsyslog.process.output()

    restart(rsyslog)  # now trusting the node
    lines = rsyslog.wait_for(201, timeout=30)
    assert sorted(set(sequence_ids(lines))) == list(range(1, 202))
    eventually(lambda: head().failing_since is None, timeout=10, what="the episode never ended")
    assert not AuditEvent.objects.filter(sent_at__isnull=True).exists()


# --- The forwarder killed while it forwards.

def test_a_forwarder_killed_mid_batch_loses_nothing_and_its_lease_is_taken_over_when_it_expires(
        audit_node: Node, repository: RsyslogServer) -> None:
    """The node's worker forwards, fired by beat; it is killed (SIGKILL, with its pool) and started again.

    What it wrote but had not marked sent goes again, with the same sequenceIds.
    """
    total = 5_000
    record_committed(total, per_transaction=1_000)
    try:
        start_worker(audit_node)
        audit_node.start("beat")
        worker = audit_node.processes["worker"]

        def written_not_marked() -> bool:  # a batch between its write and its marking
            written = len(repository.lines())
            return written > AuditEvent.objects.filter(sent_at__isnull=False).count()

        eventually(written_not_marked, timeout=30, poll=0.02, what="nothing was forwarded")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.stop()  # reaps it
        killed_at = timezone.now()
        time.sleep(0.5)  # what was on the wire lands in the file
        delivered = set(sequence_ids(repository.lines()))
        marked = AuditEvent.objects.filter(sent_at__isnull=False).count()
        lease = head()
        assert len(delivered) < total, "the forwarder finished before it could be killed"
        assert marked < len(delivered), "not killed mid-batch: everything written was marked sent"
        assert lease.lease_owner and lease.lease_until is not None and lease.lease_until > killed_at

        start_worker(audit_node)
        # The dead forwarder's lease keeps everyone out until it expires.
        while timezone.now() < lease.lease_until - timedelta(seconds=0.5):
            assert len(repository.lines()) == len(delivered)
            time.sleep(0.1)

        lines = repository.wait_for(
            lambda ls: len(ls) >= total and set(sequence_ids(ls)) == set(range(1, total + 1)), timeout=40)
        new_worker = audit_node.processes["worker"]
        assert f"took over the audit forwarding lease from {lease.lease_owner}" in new_worker.output()
    finally:
        stop_worker(audit_node)
        audit_node.processes["beat"].stop()

    received = [parse(line) for line in lines]
    ids = [r.sequence_id for r in received]
    assert set(ids) == set(range(1, total + 1))  # no loss
    # A resend starts again at or before where it stopped, then runs on in order.
    rewinds = [(a, b) for a, b in itertools.pairwise(ids) if b != a + 1]
    assert len(rewinds) == 1 and rewinds[0][1] <= rewinds[0][0]
    first: dict[int, bytes] = {}
    for r in received:  # a duplicate is the same record again, under the same sequenceId
        assert first.setdefault(r.sequence_id, r.msg) == r.msg
    # Resent: exactly what had been written and not marked sent when it died.
    assert len(ids) - total == len(delivered) - marked


# --- Collector down a while: backoff, not a busy loop.

def test_while_the_repository_is_down_attempts_back_off_however_many_records_kick(
        forwarder: Node, rsyslog: RsyslogServer) -> None:
    """The node's web process records a security alert per SOAP fault and kicks its worker on
    commit; beat fires it every second besides. The worker forwards."""
    restart(rsyslog, running=False)
    forwarder.start("web")
    worker = forwarder.processes["worker"]
    log_start = len(worker.output())
    faults = 0
    started = time.monotonic()
    capped = f"next attempt in {MAX_BACKOFF_SECONDS:.1f} s"
    # At least 10 s of faults, and on until the hold-off reached its cap: a loaded machine answers
    # fewer requests and logs later, and the property holds however long the outage lasts.
    with httpx.Client(base_url=forwarder.url, timeout=30) as client:
        while time.monotonic() - started < 40:
            response = client.post("/xds/registry", content=envelope("<x/>", action="urn:nobody:knows"),
                                   headers={"Content-Type": "application/soap+xml"})
            assert response.status_code in (400, 500)
            faults += 1
            time.sleep(0.05)
            if time.monotonic() - started >= 10 and capped in worker.output()[log_start:]:
                break
    elapsed = time.monotonic() - started
    log = worker.output()[log_start:]
    tries = attempts(log)
    tasks = log.count("Task audit.tasks.forward_audit_events[") // 2  # received, then succeeded
    # Attempts at about 0, 1, 2, 3, 4.5, 6.5, 8.5 s: a handful, not one per kick or per fault.
    assert 3 <= len(tries) <= elapsed / 0.9 + 1, (len(tries), faults, tasks, elapsed)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(tries)]
    assert min(gaps) >= 0.9, gaps
    assert capped in log  # the hold-off grew to its cap
    assert "Retry in" not in log  # no Celery retry chains beside the backoff
    assert faults > 2 * len(tries) and tasks > 2 * len(tries), (len(tries), faults, tasks)

    rsyslog.start()
    expected = AuditEvent.objects.count()
    assert expected >= faults  # every fault recorded, and the forwarder's own alert
    came_back = time.monotonic()
    lines = rsyslog.wait_for(expected, timeout=30)
    assert time.monotonic() - came_back < MAX_BACKOFF_SECONDS + FORWARD_SECONDS + 10
    assert sorted(set(sequence_ids(lines))) == list(range(1, expected + 1))


# --- forward_pending() in the test process.

def test_a_failed_attempt_holds_every_forwarder_off_for_a_while(in_process: RsyslogServer) -> None:
    """forward_pending() called here twice, against the module's rsyslogd stopped."""
    restart(in_process, running=False)
    record_committed(3)
    first = forward_pending()
    assert first.error and "cannot connect" in first.error
    second = forward_pending()  # at once: no connection attempt, no second alert
    assert (second.sent, second.error) == (0, "")
    chain = head()
    assert chain.lease_owner == "" and chain.lease_until is not None
    assert chain.lease_until > timezone.now()
    assert AuditEvent.objects.filter(event_id="110113").count() == 1


@pytest.mark.parametrize("bad", [{"AUDIT_HOSTNAME": "two words"}, {"AUDIT_APP_NAME": "a" * 49},
                                 {"AUDIT_SYSLOG_URL": "tcp://127.0.0.1:6514"},
                                 {"AUDIT_SYSLOG_KEY_FILE": ""}])
def test_a_misconfigured_forwarder_says_so_once_and_keeps_the_records(
        in_process: RsyslogServer, bad: dict[str, str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """forward_pending() called here, as beat would call it, with a setting format_message or
    sender_from_url refuses: no exception, an ERROR logged once, the failure on the chain's head."""
    restart(in_process)
    monkeypatch.setattr(forwarding, "_logged_problems", set())  # a fresh process
    record_committed(2)
    with override_settings(**bad), caplog.at_level(logging.ERROR, logger="audit.forwarding"):
        results = [forward_pending() for _ in range(3)]
    assert all(r.error.startswith("audit forwarding is misconfigured") and r.sent == 0 for r in results)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "audit.forwarding"]
    assert len(errors) == 1 and "misconfigured" in errors[0].getMessage()
    chain = head()
    assert chain.failing_since is not None and "misconfigured" in chain.last_error
    alerts = AuditEvent.objects.filter(event_id="110113")
    assert alerts.count() == 1
    assert alerts.get().record["event_type_codes"][0]["code"] == "110129"  # Security Configuration
    assert not AuditEvent.objects.filter(sent_at__isnull=False).exists()

    result = forward_pending()  # the settings fixed: everything goes
    assert (result.error, result.sent) == ("", 3)
    assert sorted(sequence_ids(in_process.wait_for(3))) == [1, 2, 3]


def test_sequence_ids_past_rfc_5424s_maximum_start_again_at_1() -> None:
    assert [wire_sequence_id(n) for n in (1, 2_147_483_647, 2_147_483_648, 2_147_483_649)] == [
        1, 2_147_483_647, 1, 2]
