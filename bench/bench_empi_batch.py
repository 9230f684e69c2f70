"""EMPI batch link and bulk load: the synthetic hospitals linked in one batch, then loaded into SQLite.

1. Records of `tests.empi.matching_people.two_hospitals` (hospital A's records of people and
   their twins, B's of about 60% of them with errors), BENCH_EMPI_BATCH_RECORDS of them in all
   (default 100,000; several populations of at most 150,000 people beyond that):
   generation timed on its own; parameters trained on a sample of
   TRAIN_SAMPLE records (timed on its own); then `batch_link`, timed per phase (blocking,
   scoring, clustering). Precision, recall and F1 count the A-B pairs put on one person against
   the pairs of one person; blocking recall the share of those among the candidate pairs.
2. The same records written to a CSV file and loaded by `manage.py empi_link` into a fresh
   SQLite database (migrate and bootstrap_demo first, untimed).
3. Match-on-feed latency with those persons stored: FEEDS new records through
   services.record_feed, in-process (no MLLP, no HL7 parsing): p50 and p95.

EMPI_BENCH_MILLION=1 runs 1,000,000 records instead; EMPI_BENCH_LOAD=0 leaves out steps 2 and 3.
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.table import Row
from empi.matching.batch_link import batch_link
from empi.matching.record import Demographics
from empi.matching.training import parameters_train
from tests.empi.matching_people import two_hospitals

ROOT = Path(__file__).resolve().parents[1]
NAME = "EMPI batch link"
RECORDS = 1_000_000 if os.environ.get("EMPI_BENCH_MILLION") else int(
    os.environ.get("BENCH_EMPI_BATCH_RECORDS", "100000"))
LOAD = os.environ.get("EMPI_BENCH_LOAD", "1") != "0"  # 0: the batch link alone, no SQLite load
TRAIN_SAMPLE = 30_000
FEEDS = 500
PER_PERSON = 1.62  # two_hospitals: about 1.01 records at A and 0.61 at B per person
# two_hospitals builds count // 20 surnames from 16,250 syllable combinations: it stops short of
# 325,000 people. Larger sets join several populations, each with its own seed and surnames.
POPULATION = 150_000
HOSPITAL_A = "1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B = "1.3.6.1.4.1.21367.13.20.2000"


def run() -> list[Row]:
    from django.conf import settings

    started = time.perf_counter()
    a, b = _people(int(RECORDS / PER_PERSON))
    generated = time.perf_counter() - started
    records = [r for _, r in a] + [r for _, r in b]
    keys = np.array([k for k, _ in a] + [k for k, _ in b])
    authority = np.array([0] * len(a) + [1] * len(b))
    started = time.perf_counter()
    sample = random.Random(0).sample(records, min(TRAIN_SAMPLE, len(records)))
    params = parameters_train(sample, max_pairs=100_000)
    trained = time.perf_counter() - started
    threshold = float(settings.EMPI_LINK_THRESHOLD)
    linkage = batch_link(records, authority.tolist(), params, link_threshold=threshold,
                         review_threshold=float(settings.EMPI_REVIEW_THRESHOLD))
    size = f"{len(records):,} records"
    print(f"{size}: {len(linkage.candidates.left):,} candidate pairs, {linkage.seconds}",
          file=sys.stderr)
    rows = [Row(NAME, f"{size}: generation", generated, "s", "two_hospitals, not part of the link"),
            Row(NAME, f"{size}: training", trained, "s", f"parameters_train on {len(sample):,} records")]
    total = sum(linkage.seconds.values())
    rows += [Row(NAME, f"{size}: {phase}", seconds, "s") for phase, seconds in linkage.seconds.items()]
    rows.append(Row(NAME, f"{size}: batch link", total, "s", "goal <= 120 s for 1M on 2 cores"))
    rows += _quality(size, linkage, keys, authority, records, threshold)
    if LOAD:
        with tempfile.TemporaryDirectory(prefix="bench-empi-batch-") as tmp:
            rows += _bulk_load(size, Path(tmp), a, b)
    return rows


def _people(count: int) -> tuple[list[tuple[int, Demographics]], list[tuple[int, Demographics]]]:
    a: list[tuple[int, Demographics]] = []
    b: list[tuple[int, Demographics]] = []
    for part, start in enumerate(range(0, count, POPULATION)):
        # Person keys of each population offset past the last one's (twins add keys).
        offset = 2 * POPULATION * part
        pa, pb = two_hospitals(min(POPULATION, count - start), seed=RECORDS + part)
        a += [(offset + key, r) for key, r in pa]
        b += [(offset + key, r) for key, r in pb]
    return a, b


def _quality(size: str, linkage: object, keys: np.ndarray, authority: np.ndarray,
             records: list[Demographics], threshold: float) -> list[Row]:
    from empi.matching.batch_link import Linkage

    assert isinstance(linkage, Linkage)
    n = len(keys)
    a_of_key = {int(k): i for i, k in enumerate(keys.tolist()) if authority[i] == 0}
    truth = {(a_of_key[int(keys[j])], j) for j in np.flatnonzero(authority == 1).tolist()}
    a_by_person = {int(linkage.person[i]): i for i in np.flatnonzero(authority == 0).tolist()}
    linked = {(a_by_person[int(linkage.person[j])], j) for j in np.flatnonzero(authority == 1).tolist()
              if int(linkage.person[j]) in a_by_person}
    candidates = linkage.candidates
    keyed = candidates.left * n + candidates.right  # sorted: candidate_pairs made them unique
    blocked = int(_found(keyed, np.array([min(i, j) * n + max(i, j) for i, j in truth])).sum())
    hits = len(linked & truth)
    precision, recall = hits / len(linked), hits / len(truth)
    household: dict[tuple[str, str, str], list[int]] = {}
    for i in np.flatnonzero(authority == 0).tolist():
        r = records[i]
        household.setdefault((r.family, r.birth_date, r.street), []).append(i)
    twins = [g for g in household.values() if len(g) == 2
             and records[g[0]].given != records[g[1]].given]
    twin_pairs = np.array([g[0] * n + g[1] for g in twins], dtype=np.int64)
    where = np.minimum(np.searchsorted(keyed, twin_pairs), max(len(keyed) - 1, 0))
    twin_linked = int((_found(keyed, twin_pairs) & (linkage.scores.totals[where] >= threshold)).sum())
    return [
        Row(NAME, f"{size}: candidate pairs", len(candidates.left), "",
            f"{candidates.blocks_skipped:,} blocks > 1,000 records skipped "
            f"({candidates.pairs_skipped:,} pairs)"),
        Row(NAME, f"{size}: precision", 100 * precision, "%", "A-B pairs on one person"),
        Row(NAME, f"{size}: recall", 100 * recall, "%", f"{len(truth):,} true pairs"),
        Row(NAME, f"{size}: F1", 200 * precision * recall / (precision + recall), "%"),
        Row(NAME, f"{size}: blocking recall", 100 * blocked / len(truth), "%"),
        Row(NAME, f"{size}: twin pairs at or above the link threshold", twin_linked, "",
            f"of {len(twins):,}; one authority, so never put on one person"),
    ]


def _found(keyed: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of the wanted pair keys are among the sorted candidate pair keys."""
    if not len(keyed) or not len(wanted):
        return np.zeros(len(wanted), dtype=bool)
    where = np.minimum(np.searchsorted(keyed, wanted), len(keyed) - 1)
    return np.asarray(keyed[where] == wanted)


def _bulk_load(size: str, base: Path, a: list[tuple[int, Demographics]],
               b: list[tuple[int, Demographics]]) -> list[Row]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
           "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"}
    _manage(env, "migrate", "--verbosity", "0")
    _manage(env, "bootstrap_demo")
    csv_file = base / "load.csv"
    with csv_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["authority", "identifier", "given", "family", "birth_date", "sex",
                         "street", "city", "postcode", "phone"])
        for oid, prefix, part in ((HOSPITAL_A, "A", a), (HOSPITAL_B, "B", b)):
            writer.writerows([oid, f"{prefix}{key}", r.given, r.family, r.birth_date, r.sex,
                              r.street, r.city, r.postcode, r.phone] for key, r in part)
    started = time.perf_counter()
    printed = _manage(env, "empi_link", str(csv_file))
    loaded = time.perf_counter() - started
    latency = _manage(env, "shell", "-c", f"from bench.bench_empi_batch import feeds; feeds({FEEDS})")
    p50, p95 = (float(x) for x in latency.split()[-2:])
    return [
        Row(NAME, f"{size}: bulk load into SQLite", loaded, "s",
            f"manage.py empi_link, CSV read included; {printed.strip().splitlines()[-1][:60]}"),
        Row(NAME, f"{size} stored: match-on-feed p50", p50, "ms",
            f"{FEEDS} new records, services.record_feed in-process, no MLLP"),
        Row(NAME, f"{size} stored: match-on-feed p95", p95, "ms", "goal p95 <= 20 ms with 1M persons"),
    ]


def feeds(count: int) -> None:
    """Run inside the loaded node: feed count new people and print p50 and p95 in ms."""
    from empi import services
    from organisations.models import AssigningAuthority

    hospital = AssigningAuthority.objects.get(universal_id=HOSPITAL_B)
    a, _ = two_hospitals(count, seed=999_999)
    seconds = []
    for key, record in a[:count]:
        started = time.perf_counter()
        services.record_feed(authority=hospital, identifier=f"NEW{key}", demographics=record, raw={},
                             source="bench")
        seconds.append(time.perf_counter() - started)
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    print(f"{cuts[49] * 1000:.2f} {cuts[94] * 1000:.2f}")


def _manage(env: dict[str, str], *args: str) -> str:
    child = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=7_200, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{child.stderr[-4000:]}")
    return child.stdout
