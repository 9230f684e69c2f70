"""`python -m stress.load`: 50 concurrent clients for five minutes against the scaled topology.

A throwaway PostgreSQL and Redis are started on loopback, the database migrated and the demo
affinity domain bootstrapped (its hospital A gets an OAuth2 client), then the node's own `web`
(gunicorn, 2 workers x 8 threads), `worker` and `mllp` processes. Hospital A feeds STRESS_PATIENTS
patients over MLLP (ITI-8) and provides one small report for each (ITI-41). Then STRESS_CLIENTS
threads, each with its own HTTP connection and MLLP session, loop for STRESS_SECONDS over a mix of:

- ITI-18 FindDocuments for a patient (SOAP, LeafClass), which must find at least one entry;
- ITI-41 Provide and Register of a 1 MB document (MTOM), which must answer Success;
- ITI-43 Retrieve of a seeded report, whose bytes must come back;
- ITI-9 PIX Query over MLLP by hospital A's MRN, which must be acknowledged AA;
- ITI-67 Find Document References over FHIR with hospital A's bearer token, total >= 1.

The first tenth of the run (at most 30 s) warms up and is not counted. Printed: errors per
transaction (the goal is none), p50/p95/p99 latency as the client waits, throughput, and the RSS
of each process tree (web, worker, mllp) at the start, middle and end of the counted run: memory
must not grow over the second half (the first fills caches and allocator arenas, then levels
off). The exit status is 1 when there were errors or memory grew.

STRESS_SECONDS (300), STRESS_CLIENTS (50), STRESS_PATIENTS (50).
"""

from __future__ import annotations

import base64
import logging
import os
import random
import socket
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.table import Row, print_table
from tests.servers.node import Node

SECONDS = float(os.environ.get("STRESS_SECONDS", "300"))
CLIENTS = int(os.environ.get("STRESS_CLIENTS", "50"))
PATIENTS = int(os.environ.get("STRESS_PATIENTS", "50"))
WARM_UP = min(30.0, SECONDS / 10)
MB = 1024 * 1024
# How often each transaction is picked: a consumer queries and retrieves more than sources provide.
MIX = {"ITI-18": 3, "ITI-41": 1, "ITI-43": 2, "ITI-9": 2, "ITI-67": 2}
# Memory "does not grow" when the end of the run is within this of its middle: a process's first
# minutes fill its caches and each thread's allocator arena (a plateau); a leak goes on growing.
GROWTH_LIMIT = 0.05
HOSPITAL_A_CX4 = "HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO"
SUCCESS = b"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"


@dataclass(frozen=True)
class Seed:
    mrns: list[str]  # hospital A's
    patient_ids: list[str]  # the affinity domain's, as the registry knows them
    documents: list[str]  # uniqueIds of the seeded reports
    token: str  # hospital A's bearer token for /fhir


@dataclass
class Tally:
    """What the clients measured: seconds per transaction, and errors with a sample of each."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, seconds: float, error: str) -> None:
        with self.lock:
            if error:
                self.errors[name] += 1
                self.samples.setdefault(name, error[:500])
            else:
                self.seconds[name].append(seconds)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from bench.bench_fhir import _fhir_client
    from bench.bench_registry import _migrate
    from tests.servers.postgres import start_postgres
    from tests.servers.redis import start_redis

    with tempfile.TemporaryDirectory(prefix="stress-load-") as tmp:
        base = Path(tmp)
        postgres, redis = start_postgres(base / "pg"), start_redis(base / "redis")
        try:
            url = postgres.database_url("postgres")
            _migrate(base, url)
            client_id, secret = _fhir_client(base, url)
            (base / "node").mkdir()
            node = Node(base=base / "node", env={"DATABASE_URL": url, "CELERY_BROKER_URL": redis.url,
                                                 "LOG_LEVEL": "WARNING"})
            node.start("web", "worker", "mllp")
            try:
                seed = _seed(node, url, client_id, secret)
                rows, failed = _run(node, seed)
            finally:
                node.stop()
        finally:
            redis.stop()
            postgres.stop()
    print_table(rows)
    return 1 if failed else 0


# --- The seed: patients fed over MLLP, a report provided for each.

def _seed(node: Node, url: str, client_id: str, secret: str) -> Seed:
    import psycopg

    from tests.empi.messages import adt, field

    rng = random.Random(17)  # noqa: S311 (test data, not secrets)
    mrns = []
    with _mllp(node) as sock:
        for number in range(PATIENTS):
            mrn = f"SA{number:05d}"
            # Names and dates far apart, so that the EMPI keeps the patients apart.
            name = "".join(rng.choice("BCDFGHJKLMNPRSTVZ") + rng.choice("AEIOU") for _ in range(4))
            birth = f"19{rng.randrange(30, 99)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
            message = adt("A04", (mrn, HOSPITAL_A_CX4, f"{name}^{name[::-1]}", birth,
                                  rng.choice("FM"), "", ""), control=f"SEED{number}")
            reply = _exchange(sock, message)
            if field(reply, "MSA", 1) != "AA":
                raise RuntimeError(f"ITI-8 feed of {mrn} refused: {reply[:1000]!r}")
            mrns.append(mrn)
    with psycopg.connect(url) as conn:
        patient_ids = [row[0] for row in conn.execute(
            "SELECT patient_id FROM registry_patientidentity ORDER BY id")]
    if not patient_ids:
        raise RuntimeError("the feeds made no patient known to the registry")
    documents = []
    with _http(node) as http:
        for patient_id in patient_ids:
            unique_id, error = _provide(http, patient_id, b"seeded report\n" * 64)
            if error:
                raise RuntimeError(f"seeding ITI-41 failed: {error}")
            documents.append(unique_id)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        answer = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})
        answer.raise_for_status()
    return Seed(mrns, patient_ids, documents, str(answer.json()["access_token"]))


# --- The run.

def _run(node: Node, seed: Seed) -> tuple[list[Row], bool]:
    tally, memory = Tally(), _Memory(node)
    started = time.monotonic()
    counting_from, deadline = started + WARM_UP, started + WARM_UP + SECONDS

    def client(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 (the mix, not secrets)
        names, weights = list(MIX), list(MIX.values())
        with _http(node) as http, _mllp(node) as sock:
            transactions: dict[str, Callable[[], str]] = {
                "ITI-18": lambda: _find(http, rng.choice(seed.patient_ids)),
                "ITI-41": lambda: _provide(http, rng.choice(seed.patient_ids), _ONE_MB)[1],
                "ITI-43": lambda: _retrieve(http, rng.choice(seed.documents)),
                "ITI-9": lambda: _pix(sock, rng.choice(seed.mrns), number),
                "ITI-67": lambda: _fhir(http, rng.choice(seed.patient_ids), seed.token),
            }
            while (now := time.monotonic()) < deadline:
                name = rng.choices(names, weights)[0]
                try:
                    error = transactions[name]()
                except Exception as exc:  # a broken connection is an error like any other
                    error = repr(exc)
                if now >= counting_from:
                    tally.add(name, time.monotonic() - now, error)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    memory.sample_until(counting_from, deadline)
    for thread in threads:
        thread.join(timeout=300)
    return _rows(tally, memory)


def _find(http: httpx.Client, patient_id: str) -> str:
    from bench.bench_registry import APPROVED, FIND_DOCUMENTS, ITI18, _headers, _query

    body = _query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{patient_id}'",
                                   "$XDSDocumentEntryStatus": f"('{APPROVED}')"})
    answer = http.post("/xds/registry", content=body, headers=_headers(ITI18))
    found = SUCCESS in answer.content and b"ExtrinsicObject " in answer.content
    if answer.status_code != 200 or not found:
        return f"ITI-18: {answer.status_code} {answer.content[:300]!r}"
    return ""


_ONE_MB = random.Random(3).randbytes(MB)  # noqa: S311 (a document's bytes)


def _provide(http: httpx.Client, patient_id: str, data: bytes) -> tuple[str, str]:
    from tests.registry.submissions import unique_ids
    from tests.repository.provide import provide_request, text_submission

    root = text_submission(patient_id=patient_id)
    request = provide_request(root, {"Document01": data})
    answer = http.post("/xds/repository", content=request.body,
                       headers={"Content-Type": request.content_type})
    if answer.status_code != 200 or SUCCESS not in answer.content:
        return "", f"ITI-41: {answer.status_code} {answer.content[:300]!r}"
    return unique_ids(root)["document"], ""


def _retrieve(http: httpx.Client, unique_id: str) -> str:
    from django.conf import settings

    from tests.repository.provide import X, document_requests, envelope

    xml = envelope(document_requests(X + "RetrieveDocumentSetRequest",
                                     [(settings.REPOSITORY_UNIQUE_ID, unique_id)]), action=ITI43)
    answer = http.post("/xds/repository", content=xml, headers={
        "Content-Type": f'application/soap+xml; charset=utf-8; action="{ITI43}"'})
    if (answer.status_code != 200 or SUCCESS not in answer.content
            or b"seeded report" not in answer.content):
        return f"ITI-43: {answer.status_code} {answer.content[:300]!r}"
    return ""


def _pix(sock: socket.socket, mrn: str, client: int) -> str:
    from tests.empi.messages import cx, field, qbp

    reply = _exchange(sock, qbp(cx(mrn, HOSPITAL_A_CX4), control=f"Q{client}-{time.monotonic_ns()}",
                                sender="HOSPA_RIS^HOSPA"))
    if field(reply, "MSA", 1) != "AA":
        return f"ITI-9: {reply[:300]!r}"
    return ""


def _fhir(http: httpx.Client, patient_id: str, token: str) -> str:
    value, _, authority = patient_id.partition("^^^")
    oid = authority.split("&")[1]
    answer = http.get("/fhir/DocumentReference", params={"patient.identifier": f"urn:oid:{oid}|{value}"},
                      headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200 or not answer.json().get("total"):
        return f"ITI-67: {answer.status_code} {answer.content[:300]!r}"
    return ""


def _http(node: Node) -> httpx.Client:
    # Nagle's algorithm would hold an MTOM body's small tail for the server's delayed ACK.
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(base_url=node.url, timeout=120, transport=transport)


def _mllp(node: Node) -> socket.socket:
    return socket.create_connection(("127.0.0.1", node.mllp_port), timeout=120)


def _exchange(sock: socket.socket, message: bytes) -> bytes:
    from tests.mllp.client import exchange

    return exchange(sock, message)


# --- Memory of each process tree.

class _Memory:
    """The RSS of each of the node's process trees (a gunicorn arbiter and its workers, a Celery
    worker and its pool), sampled every second."""

    def __init__(self, node: Node) -> None:
        self.roots = {name: psutil.Process(process.pid) for name, process in node.processes.items()}
        self.samples: list[tuple[float, dict[str, int]]] = []

    def sample_until(self, start: float, deadline: float) -> None:
        while (now := time.monotonic()) < deadline:
            if now >= start:
                self.samples.append((now, {name: _tree_rss(root) for name, root in self.roots.items()}))
            time.sleep(1.0)

    def at(self, fraction: float) -> dict[str, int]:
        """The mean of the samples around `fraction` of the run (five of them): one sample may
        catch a request's buffers."""
        if not self.samples:
            return {}
        middle = min(len(self.samples) - 1, round(fraction * (len(self.samples) - 1)))
        window = self.samples[max(0, middle - 2):middle + 3]
        return {name: sum(s[name] for _, s in window) // len(window) for name in self.roots}


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


# --- The table.

def _rows(tally: Tally, memory: _Memory) -> tuple[list[Row], bool]:
    from bench.bench_registry import _percentile

    name = f"stress: {CLIENTS} clients, {SECONDS:.0f} s"
    rows, total, errors = [], 0, 0
    for transaction in MIX:
        seconds = tally.seconds.get(transaction, [])
        failed = tally.errors.get(transaction, 0)
        total, errors = total + len(seconds) + failed, errors + failed
        note = f"{len(seconds):,} answered, {failed} errors" + (
            f"; first: {tally.samples[transaction]}" if failed else "")
        if seconds:
            rows += [Row(name, f"{transaction} p50", _percentile(seconds, 50) * 1000, "ms", note),
                     Row(name, f"{transaction} p95", _percentile(seconds, 95) * 1000, "ms"),
                     Row(name, f"{transaction} p99", _percentile(seconds, 99) * 1000, "ms")]
        rows.append(Row(name, f"{transaction} throughput", len(seconds) / SECONDS, "/s",
                        "" if seconds else note))
    rows += [Row(name, "total throughput", (total - errors) / SECONDS, "/s", "transactions answered"),
             Row(name, "errors", errors, "", "goal: 0")]
    start, middle, end = memory.at(0.0), memory.at(0.5), memory.at(1.0)
    grew = False
    for process in memory.roots:
        growth = (end[process] - middle[process]) / middle[process] if middle.get(process) else 0.0
        grew = grew or growth > GROWTH_LIMIT
        verdict = "MISSES" if growth > GROWTH_LIMIT else "meets"
        rows += [Row(name, f"RSS {process}, start", start.get(process, 0) / MB, "MiB", "process tree"),
                 Row(name, f"RSS {process}, middle", middle.get(process, 0) / MB, "MiB"),
                 Row(name, f"RSS {process}, end", end.get(process, 0) / MB, "MiB",
                     f"{growth:+.1%} since the middle; {verdict} the goal <= {GROWTH_LIMIT:.0%}")]
    return rows, errors > 0 or grew


if __name__ == "__main__":
    sys.exit(main())
