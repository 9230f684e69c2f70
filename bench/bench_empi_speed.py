"""EMPI speed over the wire: ITI-8 feeds and ITI-9 PIX queries against the node's real `mllp` process.

`run()` migrates a fresh SQLite database in a child process, runs `bootstrap_demo` there (the
affinity domain, hospitals A and B), and starts `mllp` on it. Then:

1. BENCH_EMPI_FEEDS (default 2000) ADT^A04 feeds go in one at a time over one connection: people of
   `tests.empi.matching_people`, each registered at hospital A, and about 60% of them again at
   hospital B with a realistic error or two, in a shuffled order. Each feed's ACK round trip is
   timed: that is the match-on-feed latency (parse, block, score, link, ACK). p50 and p95 are given
   over all feeds and over the last 10%, when the most persons are stored.
2. BENCH_EMPI_CONCURRENT_FEEDS (default 1000) feeds of other people, from 8 clients at once, each on
   its own connection: feeds/s.
3. BENCH_EMPI_QUERIES (default 1000) QBP^Q23 PIX queries for random MRNs fed in (1), one at a time:
   queries/s, p50 and p95.

Every ACK must be AA, and every RSP^K23 AA with QAK-2 OK, or the bench raises.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.table import Row
from empi.matching.record import Demographics
from tests.empi.conftest import HOSPITAL_A_CX4, HOSPITAL_B_CX4
from tests.empi.matching_people import two_hospitals
from tests.empi.messages import adt, cx, field, qbp, segment_text
from tests.mllp.client import connect, exchange
from tests.servers.node import Node

ROOT = Path(__file__).resolve().parents[1]
NAME = "EMPI speed, MLLP"
FEEDS = int(os.environ.get("BENCH_EMPI_FEEDS", "2000"))
CONCURRENT_FEEDS = int(os.environ.get("BENCH_EMPI_CONCURRENT_FEEDS", "1000"))
QUERIES = int(os.environ.get("BENCH_EMPI_QUERIES", "1000"))
CLIENTS = 8
GOAL_P95_MS = 20
SENDERS = {HOSPITAL_A_CX4: "HOSPA_HIS^HOSPA", HOSPITAL_B_CX4: "HOSPB_HIS^HOSPB"}

Feed = tuple[str, str, bytes]  # MRN, CX.4 of its authority, the ADT^A04


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-empi-speed-") as tmp:
        base = Path(tmp)
        (base / "node").mkdir()
        node = Node(base=base / "node", env={"DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
                                             "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"})
        _manage(node, "migrate", "--verbosity", "0")
        _manage(node, "bootstrap_demo")
        node.start("mllp")
        try:
            sequential = _feeds(FEEDS, seed=0, prefix="")
            rows = _sequential(node, sequential)
            rows += _concurrent(node, _feeds(CONCURRENT_FEEDS, seed=1, prefix="C"))
            rows += _queries(node, sequential)
        finally:
            node.stop()
        return rows


def _manage(node: Node, *args: str) -> None:
    child = subprocess.run([sys.executable, "manage.py", *args], env={**os.environ, **node.env}, cwd=ROOT,
                           capture_output=True, text=True, timeout=600, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{child.stderr[-4000:]}")


def _feeds(count: int, *, seed: int, prefix: str) -> list[Feed]:
    """count ADT^A04 feeds: hospital A's records of some people, and B's of about 60% of them."""
    # two_hospitals gives about 1.01 A records (twins) and 0.6 B records a person: a few spare.
    a, b = two_hospitals(count * 100 // 150 + 10, seed=seed)
    feeds = [_feed(f"{prefix}A{key:07d}", HOSPITAL_A_CX4, record) for key, record in a]
    feeds += [_feed(f"{prefix}B{key:07d}", HOSPITAL_B_CX4, record) for key, record in b]
    random.Random(seed).shuffle(feeds)
    if len(feeds) < count:
        raise RuntimeError(f"only {len(feeds)} feeds generated, not {count}")
    return feeds[:count]


def _feed(mrn: str, authority: str, record: Demographics) -> Feed:
    patient = (mrn, authority, f"{record.family}^{record.given}", record.birth_date, record.sex,
               f"{record.street}^^{record.city}^^{record.postcode}", record.phone)
    return mrn, authority, adt("A04", patient, control=f"{mrn}A04", sender=SENDERS[authority])


def _send(sock: socket.socket, message: bytes, *, query: bool = False) -> float:
    """One exchange, in seconds; raises unless the answer is AA (and, for a query, QAK-2 OK)."""
    start = time.perf_counter()
    reply = exchange(sock, message)
    seconds = time.perf_counter() - start
    if field(reply, "MSA", 1) != "AA" or (query and field(reply, "QAK", 2) != "OK"):
        raise RuntimeError(f"not accepted: {reply.decode(errors='replace')!r} {segment_text(reply, 'ERR')}")
    return seconds


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95, in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def _sequential(node: Node, feeds: list[Feed]) -> list[Row]:
    with connect(node.mllp_port) as sock:
        start = time.perf_counter()
        latencies = [_send(sock, message) for _, _, message in feeds]
        elapsed = time.perf_counter() - start
    p50, p95 = _percentiles(latencies)
    tail = latencies[-max(2, len(latencies) // 10):]
    tail_p50, tail_p95 = _percentiles(tail)
    goal = f"goal p95 <= {GOAL_P95_MS} ms with 1M persons; here at most {len(feeds):,} records stored"
    return [
        Row(NAME, "ITI-8 feeds, sequential", len(feeds) / elapsed, "feeds/s",
            f"{len(feeds):,} ADT^A04, one connection, every ACK AA"),
        Row(NAME, "match-on-feed p50, all feeds", p50, "ms", "ACK round trip"),
        Row(NAME, "match-on-feed p95, all feeds", p95, "ms", goal),
        Row(NAME, "match-on-feed p50, last 10%", tail_p50, "ms", f"last {len(tail):,} feeds"),
        Row(NAME, "match-on-feed p95, last 10%", tail_p95, "ms"),
    ]


def _concurrent(node: Node, feeds: list[Feed]) -> list[Row]:
    shares = [feeds[i::CLIENTS] for i in range(CLIENTS)]

    def client(share: list[Feed]) -> None:
        with connect(node.mllp_port, timeout=120) as sock:
            for _, _, message in share:
                _send(sock, message)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(client, shares))
    elapsed = time.perf_counter() - start
    return [Row(NAME, f"ITI-8 feeds, {CLIENTS} clients", len(feeds) / elapsed, "feeds/s",
                f"{len(feeds):,} more ADT^A04, one connection each, every ACK AA")]


def _queries(node: Node, fed: list[Feed]) -> list[Row]:
    rng = random.Random(2)
    chosen = [rng.choice(fed) for _ in range(QUERIES)]
    with connect(node.mllp_port) as sock:
        start = time.perf_counter()
        latencies = [_send(sock, qbp(cx(mrn, authority), control=f"Q{number}"), query=True)
                     for number, (mrn, authority, _) in enumerate(chosen)]
        elapsed = time.perf_counter() - start
    p50, p95 = _percentiles(latencies)
    return [
        Row(NAME, "ITI-9 PIX queries, sequential", len(chosen) / elapsed, "queries/s",
            f"{len(chosen):,} QBP^Q23 for random fed MRNs, every RSP^K23 AA/OK"),
        Row(NAME, "ITI-9 p50", p50, "ms"),
        Row(NAME, "ITI-9 p95", p95, "ms"),
    ]
