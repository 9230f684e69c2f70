"""The audit trail's two rates: events recorded inside transactions, and forwarded over TLS.

`run()` starts a real rsyslogd (RFC 5425, mutual TLS with the demo CA's certificates) and runs
`python -m bench.bench_audit --measure` in a child process whose settings point at a fresh SQLite
file and at that rsyslogd, as the worker's would. The child records ITI-18 query records with
`audit.services.record` inside `transaction.atomic` (the way a transaction's service writes its
audit row), then seals and sends all of them with `audit.forwarding.forward_pending`. The
repository's file is counted afterwards: every sequenceId must be there.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import Row

ROOT = Path(__file__).resolve().parents[1]
ALONE = 2_000  # events recorded one per transaction
GROUPED = 18_000  # events recorded 100 per transaction
GROUP = 100
TOTAL = ALONE + GROUPED  # all of them then forwarded
MEASURE = "--measure"


def run() -> list[Row]:
    import subprocess

    from lib.demo_ca import write_demo_certs
    from tests.servers.rsyslog import start_rsyslog

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        base = Path(tmp)
        hie = write_demo_certs(base / "certs", clients=["hienode"])
        repository = start_rsyslog(base / "rsyslog", certs=hie.ca.cert.parent)
        node = hie.clients["hienode"]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VAR_DIR": str(base / "var"),
            "DATABASE_URL": f"sqlite:///{base / 'audit.sqlite3'}",
            "CELERY_BROKER_URL": "memory://",  # the on-commit kicks go nowhere: we forward here
            "AUDIT_SYSLOG_URL": f"tls://127.0.0.1:{repository.port}",
            "AUDIT_SYSLOG_CA_FILE": str(hie.ca.cert),
            "AUDIT_SYSLOG_CERT_FILE": str(node.cert),
            "AUDIT_SYSLOG_KEY_FILE": str(node.key),
            "LOG_LEVEL": "WARNING",
        }
        try:
            child = subprocess.run([sys.executable, "-m", "bench.bench_audit", MEASURE], env=env,
                                   cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
            if child.returncode != 0:
                raise RuntimeError(f"bench.bench_audit {MEASURE} failed:\n{child.stderr[-4000:]}")
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            try:
                lines = repository.wait_for(TOTAL, timeout=60)
            except AssertionError:  # fewer lines than events: the rows below say how many
                lines = repository.lines()
        finally:
            repository.stop()
    received = [_sequence_id(line) for line in lines]
    lost = TOTAL - len(set(received) & set(range(1, TOTAL + 1)))
    settings = f"batch {figures['batch']}, probe {figures['probe_timeout']} s"
    return [
        Row("audit record", "recorded, one event per transaction", ALONE / figures["alone_s"],
            "events/s", "SQLite WAL file, services.record in transaction.atomic"),
        Row("audit record", f"recorded, {GROUP} events per transaction", GROUPED / figures["grouped_s"],
            "events/s"),
        Row("audit forwarding", "sealed + sent over TLS to rsyslogd", TOTAL / figures["forward_s"],
            "events/s", f"{TOTAL:,} events, forward_pending(), {settings}"),
        Row("audit forwarding", "lost", lost, "events", f"{len(received):,} lines in rsyslog's file"),
        Row("audit forwarding", "duplicated", len(received) - len(set(received)), "events"),
    ]


def _sequence_id(line: bytes) -> int:
    start = line.index(b'[meta sequenceId="') + len(b'[meta sequenceId="')
    return int(line[start:line.index(b'"', start)])


def measure() -> dict[str, Any]:
    """In the child: record, then forward; the seconds each took."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    from audit import services
    from audit.events import Peer, query, this_node
    from audit.forwarding import configured_sender, forward_pending
    from audit.models import AuditEvent

    call_command("migrate", verbosity=0)
    consumer = Peer("http://hospb.example/consumer", host="10.2.0.10")
    registry = this_node("http://hienode.example/xds/registry")

    def a_query(n: int) -> Any:
        return query(transaction="ITI-18", sender=consumer, receiver=registry,
                     raw_query=b'<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:'
                               b'xsd:query:3.0"><AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-'
                               b'a90016b0af0d"/></query:AdhocQueryRequest>',
                     query_id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
                     patient_ids=[f"B{n:06d}^^^&1.3.6.1.4.1.21367.13.20.2000&ISO"])

    # Built beforehand: the figure is the service's (JSON, insert, commit), not the builder's.
    records = [a_query(n) for n in range(TOTAL)]
    started = time.perf_counter()
    for record in records[:ALONE]:
        with transaction.atomic():
            services.record(record, organisation="hospb")
    alone = time.perf_counter() - started

    started = time.perf_counter()
    for first in range(ALONE, TOTAL, GROUP):
        with transaction.atomic():
            for record in records[first:first + GROUP]:
                services.record(record, organisation="hospb")
    grouped = time.perf_counter() - started

    started = time.perf_counter()
    result = forward_pending()
    forward = time.perf_counter() - started
    if result.error or AuditEvent.objects.filter(sent_at__isnull=True).exists():
        raise RuntimeError(f"forwarding stopped short: {result}")
    sender = configured_sender()
    return {"alone_s": alone, "grouped_s": grouped, "forward_s": forward, "sent": result.sent,
            "batch": settings.AUDIT_FORWARD_BATCH,
            "probe_timeout": getattr(sender, "probe_timeout", None)}


if __name__ == "__main__" and MEASURE in sys.argv:
    print(json.dumps(measure()))
