"""Match-on-feed latency with many persons stored: the synthetic hospitals' records written
straight into a fresh SQLite database, one person each, then new records fed one by one.

The batch link of `bench_empi_batch` is left out on purpose: what a feed's latency depends on
is how many records it finds through its blocking keys, and that does not depend on whether the
stored records were linked among themselves. So the store takes minutes at 1M instead of the
batch link's quarter of an hour and its 14 GB. Rows go in with plain executemany in chunks; the
store ends with ANALYZE, as `empi_link` does.

BENCH_EMPI_STORED_RECORDS (default 100,000); EMPI_BENCH_MILLION=1 stores 1,000,000. FEEDS new
records of another seed are then fed through services.record_feed in-process (no MLLP, no HL7
parsing): p50 and p95, and the candidates a feed scored. A feed leaves out keys held by more than
link.FEED_BLOCK_LIMIT records; what that costs is measured on RECALL_SAMPLE stored hospital B
records: the share whose hospital A record (the same person) is still among their candidates.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_empi_batch import FEEDS, HOSPITAL_A, HOSPITAL_B, PER_PERSON, _manage, _people
from bench.table import Row

NAME = "EMPI feed with records stored"
RECORDS = 1_000_000 if os.environ.get("EMPI_BENCH_MILLION") else int(
    os.environ.get("BENCH_EMPI_STORED_RECORDS", "100000"))
CHUNK = 20_000
RECALL_SAMPLE = 1_000


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-empi-stored-") as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'db.sqlite3'}",
               "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"}
        _manage(env, "migrate", "--verbosity", "0")
        _manage(env, "bootstrap_demo")
        printed = _manage(env, "shell", "-c",
                          f"from bench.bench_empi_stored import store; store({RECORDS})")
        stored, seconds = (float(x) for x in printed.split()[-2:])
        printed = _manage(env, "shell", "-c",
                          f"from bench.bench_empi_stored import feeds; feeds({FEEDS})")
        p50, p95, candidates, sharing, largest = (float(x) for x in printed.split()[-5:])
        printed = _manage(env, "shell", "-c",
                          f"from bench.bench_empi_stored import recall; recall({RECALL_SAMPLE})")
        capped, uncapped = (float(x) for x in printed.split()[-2:])
    size = f"{int(stored):,} records stored"
    return [
        Row(NAME, f"{size}: store", seconds, "s", "one person each; executemany, then ANALYZE"),
        Row(NAME, f"{size}: match-on-feed p50", p50, "ms",
            f"{FEEDS} new records, services.record_feed in-process, no MLLP"),
        Row(NAME, f"{size}: match-on-feed p95", p95, "ms", "goal p95 <= 20 ms with 1M persons"),
        Row(NAME, f"{size}: candidates a feed scored, mean", candidates, "",
            "keys over the feed block limit left out"),
        Row(NAME, f"{size}: candidates a feed scored, max", largest, "", ""),
        Row(NAME, f"{size}: records sharing a key, mean", sharing, "", "no block limit"),
        Row(NAME, f"{size}: blocking recall, feed block limit", capped, "%",
            f"{RECALL_SAMPLE} stored B records: their A record among the candidates"),
        Row(NAME, f"{size}: blocking recall, no limit", uncapped, "%", "the same records"),
    ]


def store(count: int) -> None:
    """Inside the node: write `count` synthetic records, one person each; print count and seconds."""
    from django.db import connection, transaction

    from empi.matching.blocking import blocking_keys
    from empi.models import BlockingKey, PatientRecord, Person
    from organisations.models import AssigningAuthority

    a, b = _people(int(count / PER_PERSON))
    rows = [(HOSPITAL_A, f"A{key}", r) for key, r in a] + [(HOSPITAL_B, f"B{key}", r) for key, r in b]
    authorities = {oid: AssigningAuthority.objects.get(universal_id=oid).pk
                   for oid in (HOSPITAL_A, HOSPITAL_B)}
    affinity = AssigningAuthority.objects.get(is_affinity_domain=True)
    suffix = f"^^^&{affinity.universal_id}&{affinity.universal_id_type}"
    started = time.perf_counter()
    person_table, record_table = Person._meta.db_table, PatientRecord._meta.db_table
    key_table = BlockingKey._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start:start + CHUNK]
            with transaction.atomic():
                # Ids are chosen here, the tables being empty after migrate: the n-th row gets n + 1.
                cursor.executemany(
                    f"INSERT INTO {person_table} (id, enterprise_id, created_at) "  # noqa: S608
                    "VALUES (%s, %s, datetime('now'))",
                    [(start + n + 1, f"S{start + n + 1}{suffix}") for n in range(len(chunk))])
                cursor.executemany(
                    f"INSERT INTO {record_table} (id, authority_id, identifier, given, middle, "  # noqa: S608
                    "family, birth_date, sex, street, city, postcode, phone, national_id, "
                    "mothers_maiden_name, other_family, raw, person_id, updated_at) VALUES "
                    "(%s, %s, %s, %s, '', %s, %s, %s, %s, %s, %s, %s, '', '', '[]', '{}', %s, "
                    "datetime('now'))",
                    [(start + n + 1, authorities[oid], identifier, r.given, r.family, r.birth_date,
                      r.sex, r.street, r.city, r.postcode, r.phone, start + n + 1)
                     for n, (oid, identifier, r) in enumerate(chunk)])
                cursor.executemany(
                    f"INSERT INTO {key_table} (record_id, key) VALUES (%s, %s)",  # noqa: S608
                    [(start + n + 1, key[:128]) for n, (_, _, r) in enumerate(chunk)
                     for key in sorted(blocking_keys(r))])
        for table in (person_table, record_table, key_table):
            cursor.execute(f"ANALYZE {table}")
    print(len(rows), time.perf_counter() - started)


def feeds(count: int) -> None:
    """Inside the node: feed `count` new people; print p50 and p95 in ms, the mean candidates a
    feed scored and records sharing a key with it, and the most candidates a feed scored."""
    import statistics

    from empi import selectors, services
    from empi.matching.blocking import blocking_keys
    from empi.matching.link import FEED_BLOCK_LIMIT
    from empi.models import BlockingKey
    from organisations.models import AssigningAuthority
    from tests.empi.matching_people import two_hospitals

    hospital = AssigningAuthority.objects.get(universal_id=HOSPITAL_B)
    people, _ = two_hospitals(count, seed=777_777)
    seconds, candidates, sharing = [], [], []
    for key, record in people[:count]:
        keys = blocking_keys(record)
        candidates.append(len(selectors.match_candidates(keys, block_limit=FEED_BLOCK_LIMIT)))
        sharing.append(BlockingKey.objects.filter(key__in=sorted(keys)).values("record").distinct()
                       .count())
        started = time.perf_counter()
        services.record_feed(authority=hospital, identifier=f"NEW{key}", demographics=record, raw={},
                             source="bench")
        seconds.append(time.perf_counter() - started)
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    print(f"{cuts[49] * 1000:.2f} {cuts[94] * 1000:.2f} {statistics.mean(candidates):.1f} "
          f"{statistics.mean(sharing):.1f} {max(candidates)}", file=sys.stdout)


def recall(count: int) -> None:
    """Inside the node: of `count` stored hospital B records, the percentage whose hospital A
    record is among their candidates, with the feed's block limit and without; printed."""
    import random

    from empi import selectors
    from empi.matching.blocking import blocking_keys
    from empi.matching.link import FEED_BLOCK_LIMIT
    from empi.models import PatientRecord

    # The stored B records only (B<key>), not the feeds' (NEW<key>).
    b = list(PatientRecord.objects.filter(authority__universal_id=HOSPITAL_B, identifier__startswith="B")
             .order_by("pk").values_list("pk", flat=True))
    a = dict(PatientRecord.objects.filter(authority__universal_id=HOSPITAL_A)
             .values_list("identifier", "pk"))
    found = {FEED_BLOCK_LIMIT: 0, None: 0}
    sample = random.Random(1).sample(b, min(count, len(b)))
    for record in PatientRecord.objects.filter(pk__in=sample):
        keys = blocking_keys(record.demographics())
        for limit in found:
            pks = {c.pk for c in selectors.match_candidates(keys, record=record, block_limit=limit)}
            found[limit] += a["A" + record.identifier[1:]] in pks
    print(f"{100 * found[FEED_BLOCK_LIMIT] / len(sample):.2f} {100 * found[None] / len(sample):.2f}",
          file=sys.stdout)

