"""ITI-67 Find Document References against ITI-18 FindDocuments, on the same 1M-entry registry.

`run()` starts a throwaway PostgreSQL, migrates it, loads the synthetic registry of
`bench.registry_data` (1,000,000 DocumentEntries over 100,000 patients by default), runs VACUUM
ANALYZE, bootstraps the demo organisations (whose hospital A gets an OAuth2 client), and starts
the node's real `web` process. For each sampled entry the same selection is asked both ways over
HTTP on loopback, one after the other so that both see the same cache:

- ITI-18 FindDocuments: patient, status Approved, classCode, creationTime window, LeafClass;
- ITI-67: GET /fhir/DocumentReference?patient.identifier=..&status=current&category=..&date=ge..&date=lt..

and both answers must hold the same number of documents. The figure is the whole server
latency as the client sees it (parsing, SQL, mapping, the audit row, serialisation).

BENCH_FHIR_ENTRIES (default 1,000,000), BENCH_FHIR_SAMPLES (200) after 20 to warm up.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import registry_data
from bench.bench_registry import (
    APPROVED,
    FIND_DOCUMENTS,
    ITI18,
    RIM,
    _headers,
    _migrate,
    _percentile,
    _progress,
    _query,
)
from bench.registry_data import Generator
from bench.table import Row
from tests.servers.node import Node

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = int(os.environ.get("BENCH_FHIR_ENTRIES", "1000000"))
SAMPLES = int(os.environ.get("BENCH_FHIR_SAMPLES", "200"))
WARM_UP = 20
GOAL_RATIO = 1.5
ENTRIES_PER_PATIENT = 10


def run() -> list[Row]:
    import psycopg

    from tests.servers.postgres import start_postgres

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-fhir-pg-") as tmp:
        base = Path(tmp)
        server = start_postgres(base / "pg")
        try:
            url = server.database_url("postgres")
            _migrate(base, url)
            generator = Generator(patients=max(1, ENTRIES // ENTRIES_PER_PATIENT), entries=ENTRIES)
            with psycopg.connect(url) as conn:
                registry_data.load_postgres(conn, generator, progress=_progress(ENTRIES))
                conn.autocommit = True
                conn.execute("VACUUM ANALYZE")
                picks = _picks(conn.cursor(), generator)
            client_id, secret = _fhir_client(base, url)
            return _measure(base, url, picks, client_id, secret)
        finally:
            server.stop()


def _picks(cursor: Any, generator: Generator) -> list[tuple[str, str, str, str, str]]:
    """(patient CX, class code, class scheme, from, to) around random entries, as bench_registry."""
    chosen = random.Random(7).sample(range(1, generator.entries + 1), SAMPLES + WARM_UP)
    marks = ",".join("%s" for _ in chosen)
    cursor.execute("SELECT patient_id, class_code, class_scheme, creation_time "  # noqa: S608
                   f"FROM registry_documententry WHERE id IN ({marks})", chosen)
    rng = random.Random(11)
    picks = []
    for patient, code, scheme, created in cursor.fetchall():
        year = int(created[:4])
        start, stop = f"{year - rng.randrange(0, 3)}", f"{year + rng.randrange(1, 3)}"
        picks.append((patient, code, scheme, start, stop))
    return picks


def _fhir_client(base: Path, url: str) -> tuple[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(base / "var"), "LOG_LEVEL": "WARNING"}
    child = subprocess.run([sys.executable, "manage.py", "bootstrap_demo"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=300, check=True)
    found = re.search(r"FHIR client[^:]*: (\S+) / (\S+)", child.stdout)
    if not found:
        raise RuntimeError(f"bootstrap_demo printed no FHIR client:\n{child.stdout[-2000:]}")
    return found.group(1), found.group(2)


def _measure(base: Path, url: str, picks: list[tuple[str, str, str, str, str]], client_id: str,
             secret: str) -> list[Row]:
    (base / "node").mkdir(exist_ok=True)
    node = Node(base=base / "node", env={"DATABASE_URL": url, "CELERY_BROKER_URL": "memory://",
                                         "LOG_LEVEL": "WARNING"})
    node.start("web")
    soap, fhir, sizes = [], [], []
    try:
        with httpx.Client(base_url=node.url, timeout=120) as client:
            token = _token(client, client_id, secret)
            bearer = {"Authorization": f"Bearer {token}"}
            for index, (patient, code, scheme, start, stop) in enumerate(picks):
                body = _query(FIND_DOCUMENTS, {
                    "$XDSDocumentEntryPatientId": f"'{patient}'",
                    "$XDSDocumentEntryStatus": f"('{APPROVED}')",
                    "$XDSDocumentEntryClassCode": f"('{code}^^^{scheme}')",
                    "$XDSDocumentEntryCreationTimeFrom": f"{start}0101",
                    "$XDSDocumentEntryCreationTimeTo": f"{stop}0101"})
                value, _, rest = patient.partition("^^^")
                oid = rest.split("&")[1]
                params: list[tuple[str, str | int | float | bool | None]] = [
                    ("patient.identifier", f"urn:oid:{oid}|{value}"), ("status", "current"),
                    ("category", f"urn:oid:{scheme}|{code}"), ("date", f"ge{start}-01-01"),
                    ("date", f"lt{stop}-01-01")]
                started = time.perf_counter()
                answer = client.post("/xds/registry", content=body, headers=_headers(ITI18))
                soap_elapsed = time.perf_counter() - started
                answer.raise_for_status()
                started = time.perf_counter()
                found = client.get("/fhir/DocumentReference", params=params, headers=bearer)
                fhir_elapsed = time.perf_counter() - started
                found.raise_for_status()
                listed = answer.content.count(f"<{_prefix(answer.content)}ExtrinsicObject ".encode())
                total = found.json().get("total")
                if total != listed or not listed:
                    raise RuntimeError(f"ITI-67 found {total}, ITI-18 {listed}: {found.content[:1000]!r}")
                if index >= WARM_UP:
                    soap.append(soap_elapsed)
                    fhir.append(fhir_elapsed)
                    sizes.append(listed)
    finally:
        node.stop()
    what = (f"PostgreSQL, {ENTRIES:,} entries; {len(fhir)} queries, "
            f"{sum(sizes) / len(sizes):.1f} documents each")
    s50, s95 = _percentile(soap, 50) * 1000, _percentile(soap, 95) * 1000
    f50, f95 = _percentile(fhir, 50) * 1000, _percentile(fhir, 95) * 1000
    verdict = "meets" if f50 <= GOAL_RATIO * s50 and f95 <= GOAL_RATIO * s95 else "MISSES"
    return [
        Row("ITI-67 vs ITI-18", "ITI-18 FindDocuments p50", s50, "ms", what),
        Row("ITI-67 vs ITI-18", "ITI-18 FindDocuments p95", s95, "ms", "SOAP, LeafClass"),
        Row("ITI-67 vs ITI-18", "ITI-67 DocumentReference p50", f50, "ms", "FHIR JSON searchset"),
        Row("ITI-67 vs ITI-18", "ITI-67 DocumentReference p95", f95, "ms", ""),
        Row("ITI-67 vs ITI-18", "ITI-67 / ITI-18 (p50)", f50 / s50, "x",
            f"{verdict} the goal <= {GOAL_RATIO}x (p95 ratio {f95 / s95:.2f}x)"),
    ]


def _prefix(content: bytes) -> str:
    """The namespace prefix the response gives ebRIM (the registry writes `rim:`)."""
    found = re.search(rb'xmlns:(\w+)="' + re.escape(RIM.encode()) + rb'"', content)
    return f"{found.group(1).decode()}:" if found else ""


def _token(client: httpx.Client, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


