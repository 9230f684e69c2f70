"""The XDS.b registry at scale: ITI-18 stored queries and ITI-42 registrations, PostgreSQL and SQLite.

`run()` starts a throwaway PostgreSQL, migrates it (`manage.py migrate` in a child process whose
DATABASE_URL points at it), loads a synthetic registry with `bench.registry_data` (COPY), runs
VACUUM ANALYZE, and starts the node's real `web` process (gunicorn, 2 workers x 8 threads) on it.
Each ITI-18 query is then POSTed over HTTP on loopback, so a figure is the server's whole latency:
SOAP parsing, the stored query's SQL, the ITI-18 audit record (written in its own
transaction) and the LeafClass response, as the client waits for it. The same selection is also
timed as hand-written SQL with psycopg (sqlite3 for SQLite), fetching the same columns, ebRIM
included. Then ITI-42 submissions of one DocumentEntry each are POSTed, one at a time and from 8
threads. The whole run is repeated on SQLite with a smaller registry.

Each query is also run in a child process (settings pointed at the same database) through
`registry_stored_query()` and through `registry.queries.run()` alone, to split the HTTP figure.

Sizes: BENCH_REGISTRY_ENTRIES (PostgreSQL, default 1,000,000) and BENCH_REGISTRY_SQLITE_ENTRIES
(default 100,000), ten entries per patient; BENCH_REGISTRY_SAMPLES (200) queries of each kind after
20 to warm up; BENCH_REGISTRY_REGISTRATIONS (200) sequential ITI-42 submissions, twice as many
from 8 threads.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from bench import registry_data
from bench.registry_data import APPROVED, HAS_MEMBER, STABLE, Generator
from bench.table import Row
from tests.servers.node import Node

ROOT = Path(__file__).resolve().parents[1]
PG_ENTRIES = int(os.environ.get("BENCH_REGISTRY_ENTRIES", "1000000"))
SQLITE_ENTRIES = int(os.environ.get("BENCH_REGISTRY_SQLITE_ENTRIES", "100000"))
SAMPLES = int(os.environ.get("BENCH_REGISTRY_SAMPLES", "200"))
WARM_UP = 20
REGISTRATIONS = int(os.environ.get("BENCH_REGISTRY_REGISTRATIONS", "200"))
CLIENTS = 8
IN_PROCESS = "--in-process"
ENTRIES_PER_PATIENT = 10
GOAL_P95_MS, GOAL_RATIO = 20.0, 2.0
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
RIM = registry_data.RIM
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_SS_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ITI42 = "urn:ihe:iti:2007:RegisterDocumentSet-b"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
_OBJECT = "entry_uuid, home_community_id, patient_id, ebrim"

# The hand-written SQL of each selection, as the stored query's: same columns, same order, same limit. It
# is built from constants only (S608).
RAW_FIND = (f"SELECT {_OBJECT} FROM registry_documententry WHERE patient_id = %s AND status = %s "  # noqa: S608
            "AND class_code = %s AND class_scheme = %s AND creation_time >= %s AND creation_time < %s "
            "AND creation_time <> '' AND object_type = %s ORDER BY id LIMIT 10001")
_DOCUMENTS = f"SELECT {_OBJECT} FROM registry_documententry WHERE"  # noqa: S608
RAW_BY_UUID = f"{_DOCUMENTS} entry_uuid = %s ORDER BY id LIMIT 10001"
RAW_BY_UNIQUE_ID = f"{_DOCUMENTS} unique_id = %s ORDER BY id LIMIT 10001"
RAW_SET = f"SELECT {_OBJECT} FROM registry_submissionset WHERE entry_uuid = %s"  # noqa: S608
RAW_SET_CONTENTS = (
    "SELECT a.entry_uuid, a.source_uuid, a.target_uuid, a.association_type, a.ebrim, "
    "d.entry_uuid, d.home_community_id, d.patient_id, d.ebrim FROM registry_association a "
    "JOIN registry_documententry d ON d.entry_uuid = a.target_uuid WHERE a.source_uuid = %s "
    "AND a.association_type = %s AND d.object_type = %s ORDER BY a.id")


@dataclass
class Case:
    name: str
    bodies: list[bytes]  # the SOAP envelopes, one per sample
    raw: Callable[[Any, int], int]  # (cursor, sample) -> rows the hand-written SQL selected


def run() -> list[Row]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rows = _postgres(PG_ENTRIES)
    rows += _sqlite(SQLITE_ENTRIES)
    return rows


def _postgres(entries: int) -> list[Row]:
    import psycopg

    from tests.servers.postgres import start_postgres

    with tempfile.TemporaryDirectory(prefix="bench-registry-pg-") as tmp:
        base = Path(tmp)
        server = start_postgres(base / "pg")
        try:
            url = server.database_url("postgres")
            _migrate(base, url)
            generator = Generator(patients=max(1, entries // ENTRIES_PER_PATIENT), entries=entries)
            with psycopg.connect(url) as conn:
                started = time.perf_counter()
                registry_data.load_postgres(conn, generator, progress=_progress(entries))
                loaded = time.perf_counter() - started
                conn.autocommit = True
                started = time.perf_counter()
                conn.execute("VACUUM ANALYZE")
                analyzed = time.perf_counter() - started
                size = conn.execute("SELECT pg_database_size('postgres')").fetchone()[0]  # type: ignore[index]
                cases = _cases(conn.cursor(), generator, "%s")
                what = f"PostgreSQL, {entries:,} entries / {generator.patients:,} patients"
                rows = [Row("registry load (PostgreSQL)", "DocumentEntries loaded", entries, "entries",
                            f"{generator.patients:,} patients, COPY"),
                        Row("registry load (PostgreSQL)", "load time", loaded, "s",
                            f"{entries / loaded:,.0f} entries/s; VACUUM ANALYZE {analyzed:.0f} s"),
                        Row("registry load (PostgreSQL)", "database size", size / 2**20, "MiB")]
                rows += _measure(base, url, cases, conn.cursor(), generator, what)
            return rows
        finally:
            server.stop()


def _sqlite(entries: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-registry-sqlite-") as tmp:
        base = Path(tmp)
        path = base / "registry.sqlite3"
        url = f"sqlite:///{path}"
        _migrate(base, url)
        generator = Generator(patients=max(1, entries // ENTRIES_PER_PATIENT), entries=entries)
        started = time.perf_counter()
        registry_data.load_sqlite(str(path), generator)
        loaded = time.perf_counter() - started
        conn = sqlite3.connect(path, check_same_thread=False)
        try:
            cases = _cases(conn.cursor(), generator, "?")
            what = f"SQLite, {entries:,} entries / {generator.patients:,} patients"
            rows = [Row("registry load (SQLite)", "load time", loaded, "s",
                        f"{entries:,} entries, executemany + ANALYZE; "
                        f"{path.stat().st_size / 2**20:,.0f} MiB")]
            rows += _measure(base, url, cases, conn.cursor(), generator, what)
        finally:
            conn.close()
        return rows


def _migrate(base: Path, url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(base / "var"), "LOG_LEVEL": "WARNING"}
    child = subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=600, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{child.stderr[-4000:]}")


def _progress(total: int) -> Callable[[int], None]:
    started, step = time.perf_counter(), max(1, total // 10)
    shown = [0]

    def show(written: int) -> None:
        if written - shown[0] >= step or written == total:
            shown[0] = written
            print(f"  loaded {written:,}/{total:,} entries in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)

    return show


def _sql(text: str, style: str) -> str:
    return text if style == "%s" else text.replace("%s", "?")


def _cases(cursor: Any, generator: Generator, style: str) -> list[Case]:
    """The queries to time, on random entries (and their patients and SubmissionSets)."""
    picks = random.Random(7).sample(range(1, generator.entries + 1), SAMPLES + WARM_UP)
    marks = ",".join("?" if style == "?" else "%s" for _ in picks)
    # Placeholders only go into the SQL.
    cursor.execute(
        "SELECT d.entry_uuid, d.unique_id, d.patient_id, d.class_code, d.class_scheme, d.creation_time, "  # noqa: S608
        "a.source_uuid FROM registry_documententry d JOIN registry_association a "
        f"ON a.target_uuid = d.entry_uuid WHERE d.id IN ({marks})", picks)
    found = cursor.fetchall()
    rng = random.Random(11)
    find, find_args = [], []
    for _uuid, _uid, patient, code, scheme, created, _set in found:
        # The entry's patient and class, and a creationTime window of 1-5 years around it.
        year = int(created[:4])
        start, stop = f"{year - rng.randrange(0, 3)}0101", f"{year + rng.randrange(1, 3)}0101"
        find.append(_query(FIND_DOCUMENTS, {
            "$XDSDocumentEntryPatientId": f"'{patient}'",
            "$XDSDocumentEntryStatus": f"('{APPROVED}')",
            "$XDSDocumentEntryClassCode": f"('{code}^^^{scheme}')",
            "$XDSDocumentEntryCreationTimeFrom": start,
            "$XDSDocumentEntryCreationTimeTo": stop}))
        find_args.append((patient, APPROVED, code, scheme, start.ljust(14, "0"), stop.ljust(14, "0"), STABLE))

    def fetch(sql: str, args: Sequence[Any]) -> Callable[[Any, int], int]:
        return lambda c, i: len(c.execute(_sql(sql, style), args[i]).fetchall())

    def contents(c: Any, i: int) -> int:
        got = c.execute(_sql(RAW_SET, style), (found[i][6],)).fetchall()
        return len(got) + 2 * len(c.execute(_sql(RAW_SET_CONTENTS, style),
                                            (found[i][6], HAS_MEMBER, STABLE)).fetchall())

    return [
        Case("FindDocuments (patient, status, classCode, creationTime)", find, fetch(RAW_FIND, find_args)),
        Case("GetDocuments by entryUUID",
             [_query(GET_DOCUMENTS, {"$XDSDocumentEntryEntryUUID": f"('{f[0]}')"}) for f in found],
             fetch(RAW_BY_UUID, [(f[0],) for f in found])),
        Case("GetDocuments by uniqueId",
             [_query(GET_DOCUMENTS, {"$XDSDocumentEntryUniqueId": f"('{f[1]}')"}) for f in found],
             fetch(RAW_BY_UNIQUE_ID, [(f[1],) for f in found])),
        Case("GetSubmissionSetAndContents (by entryUUID)",
             [_query(GET_SS_AND_CONTENTS, {"$XDSSubmissionSetEntryUUID": f"'{f[6]}'"}) for f in found],
             contents),
    ]


def _query(query_id: str, slots: dict[str, str]) -> bytes:
    body = "".join(f'<rim:Slot name="{name}"><rim:ValueList><rim:Value>{value.replace("&", "&amp;")}'
                   "</rim:Value></rim:ValueList></rim:Slot>" for name, value in slots.items())
    return _envelope(ITI18, f'<query:AdhocQueryRequest xmlns:query="{QUERY}" xmlns:rim="{RIM}">'
                            '<query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>'
                            f'<rim:AdhocQuery id="{query_id}">{body}</rim:AdhocQuery>'
                            "</query:AdhocQueryRequest>")


def _envelope(action: str, body: str) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
            f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
            f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
            f"<wsa:ReplyTo><wsa:Address>{WSA}/anonymous</wsa:Address></wsa:ReplyTo>"
            "<wsa:To>http://127.0.0.1/xds/registry</wsa:To></s:Header>"
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


def _headers(action: str) -> dict[str, str]:
    return {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}


def _measure(base: Path, url: str, cases: list[Case], cursor: Any, generator: Generator,
             what: str) -> list[Row]:
    inside = _in_process(base, url, cases)
    (base / "node").mkdir(exist_ok=True)
    node = Node(base=base / "node", env={"DATABASE_URL": url, "CELERY_BROKER_URL": "memory://",
                                         "LOG_LEVEL": "WARNING"})
    node.start("web")
    rows: list[Row] = []
    try:
        with httpx.Client(base_url=node.url, timeout=120) as client:
            for case in cases:
                rows += _query_rows(client, case, cursor, what, inside[case.name])
            rows += _registrations(node, generator, what)
    finally:
        node.stop()
    return rows


def _query_rows(client: httpx.Client, case: Case, cursor: Any, what: str,
                inside: dict[str, float]) -> list[Row]:
    http, raw, answers = [], [], []
    for index, body in enumerate(case.bodies):
        started = time.perf_counter()
        response = client.post("/xds/registry", content=body, headers=_headers(ITI18))
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        started = time.perf_counter()
        selected = case.raw(cursor, index)
        raw_elapsed = time.perf_counter() - started
        if index >= WARM_UP:
            http.append(elapsed)
            raw.append(raw_elapsed)
            answers.append((response.content, selected))
    for content, selected in answers:  # the node answered what the hand-written SQL selected
        answer = etree.fromstring(content).find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
        listing = answer.find(f"{{{RIM}}}RegistryObjectList")
        got = 0 if listing is None else len(listing)
        if answer.get("status") != SUCCESS or got != selected or not got:
            raise RuntimeError(f"{case.name}: {answer.get('status')}, {got} objects, SQL selected "
                               f"{selected}: {content[:2000]!r}")
    p50, p95 = _percentile(http, 50) * 1000, _percentile(http, 95) * 1000
    raw50 = _percentile(raw, 50) * 1000
    orm50 = inside["query_p50"] * 1000
    name = f"ITI-18 {case.name}"
    objects = statistics.mean(s for _, s in answers)
    latency = "meets" if p95 <= GOAL_P95_MS else "MISSES"
    ratio = "meets" if orm50 <= GOAL_RATIO * raw50 else "MISSES"
    return [
        Row(name, "latency p50 (HTTP)", p50, "ms",
            f"{what}; {len(http)} queries, {objects:.1f} objects each"),
        Row(name, "latency p95 (HTTP)", p95, "ms", f"{latency} the goal p95 <= {GOAL_P95_MS:.0f} ms"),
        Row(name, "handler in-process p50", inside["handler_p50"] * 1000, "ms",
            f"registry_stored_query(): parse, query, audit row, response tree; p95 "
            f"{inside['handler_p95'] * 1000:.2f} ms"),
        Row(name, "stored query p50", orm50, "ms",
            f"read_query() and queries.run(); p95 {inside['query_p95'] * 1000:.2f} ms"),
        Row(name, "raw SQL p50", raw50, "ms",
            f"same selection, hand-written; p95 {_percentile(raw, 95) * 1000:.2f} ms"),
        Row(name, "stored query / raw SQL (p50)", orm50 / raw50, "x",
            f"{ratio} the goal <= {GOAL_RATIO:.0f}x"),
        Row(name, "HTTP / raw SQL (p50)", p50 / raw50, "x", "whole server round trip over the bare SELECT"),
    ]


def _in_process(base: Path, url: str, cases: list[Case]) -> dict[str, dict[str, float]]:
    """The same requests through the handler, and through the stored query alone, in a child
    process whose settings point at the database (as the web process's do)."""
    path = base / "cases.json"
    path.write_text(json.dumps({c.name: [b.decode() for b in c.bodies] for c in cases}))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": url,
           "VAR_DIR": str(base / "var"), "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"}
    child = subprocess.run([sys.executable, "-m", "bench.bench_registry", IN_PROCESS, str(path)], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"bench.bench_registry {IN_PROCESS} failed:\n{child.stderr[-4000:]}")
    found: dict[str, dict[str, float]] = json.loads(child.stdout.strip().splitlines()[-1])
    return found


def measure_in_process(path: str) -> dict[str, dict[str, float]]:
    """In the child: each case's requests through registry_stored_query(), then queries.run()."""
    import django

    django.setup()
    from django.conf import settings

    from registry import queries
    from registry.ebrim.query import read_query
    from registry.handlers.iti18 import registry_stored_query
    from soap.envelope import Addressing
    from soap.messages import SoapRequest

    found = {}
    for name, bodies in json.loads(Path(path).read_text()).items():
        handler, query = [], []
        for index, text in enumerate(bodies):
            body = etree.fromstring(text.encode()).find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
            request = SoapRequest(endpoint="registry", addressing=Addressing(
                action=ITI18, message_id=f"urn:uuid:{uuid.uuid4()}", reply_to=f"{WSA}/anonymous",
                to="http://127.0.0.1/xds/registry"), body=body, attachments={}, folder=Path("/nonexistent"),
                remote_addr="127.0.0.1", mtom=False)
            started = time.perf_counter()
            registry_stored_query(request)
            handled = time.perf_counter() - started
            started = time.perf_counter()
            parsed = read_query(body)
            queries.run(parsed.query_id, parsed.slots, leaf=True, limit=settings.REGISTRY_MAX_RESULTS)
            ran = time.perf_counter() - started
            if index >= WARM_UP:
                handler.append(handled)
                query.append(ran)
        found[name] = {"handler_p50": _percentile(handler, 50), "handler_p95": _percentile(handler, 95),
                       "query_p50": _percentile(query, 50), "query_p95": _percentile(query, 95)}
    return found


def _percentile(values: Sequence[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _registrations(node: Node, generator: Generator, what: str) -> list[Row]:
    from tests.registry.submissions import kos_submission

    patients = random.Random(5).sample(range(generator.patients), min(generator.patients, 50))
    bodies = [_envelope(ITI42, etree.tostring(kos_submission(
        patient_id=registry_data.patient_id(patients[n % len(patients)])), encoding="unicode"))
        for n in range(REGISTRATIONS + WARM_UP + REGISTRATIONS * 2)]
    local = threading.local()

    def register(body: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=node.url, timeout=120)
        response = client.post("/xds/registry", content=body, headers=_headers(ITI42))
        response.raise_for_status()
        if f'status="{SUCCESS}"'.encode() not in response.content:
            raise RuntimeError(f"ITI-42 refused: {response.content[:2000]!r}")

    for body in bodies[:WARM_UP]:
        register(body)
    sequential = bodies[WARM_UP:WARM_UP + REGISTRATIONS]
    started = time.perf_counter()
    for body in sequential:
        register(body)
    one = time.perf_counter() - started
    concurrent = bodies[WARM_UP + REGISTRATIONS:]
    with ThreadPoolExecutor(CLIENTS) as pool:
        started = time.perf_counter()
        list(pool.map(register, concurrent))
        many = time.perf_counter() - started
    return [
        Row("ITI-42 register (1 DocumentEntry)", "sequential", len(sequential) / one, "submissions/s",
            f"{what}; {len(sequential)} submissions, HTTP"),
        Row("ITI-42 register (1 DocumentEntry)", f"{CLIENTS} concurrent clients", len(concurrent) / many,
            "submissions/s", f"{len(concurrent)} submissions, gunicorn 2 workers x 8 threads"),
    ]


if __name__ == "__main__" and IN_PROCESS in sys.argv:
    print(json.dumps(measure_in_process(sys.argv[sys.argv.index(IN_PROCESS) + 1])))
