"""A prefetch job run by the node's real worker process, whose pool process is killed (SIGKILL)
in the middle of a C-MOVE: the job resumes in the next one and no study is counted twice.

The worker puts the killed run's message back (acks_late, reject_on_worker_lost). With the
SQLite broker that can fail: kombu's SQLAlchemy transport may be in the middle of its own
commit when the loss is handled, and the message is dropped. `beat` runs beside the worker, as
it does on a node, and sends the job again once it has been untouched for PREFETCH_RESEND_SECONDS
(imaging.prefetch.services.jobs_resend_stale): either way the job resumes."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import psutil
import pytest

from audit.models import AuditEvent
from config.celery import app
from imaging.prefetch import tasks
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from tests.conftest import needs_node
from tests.imaging.prefetch.conftest import Exchange, Pacs, a_job, a_study, held, upload
from tests.servers.node import Node

pytestmark = needs_node
INSTANCES = 80  # of a megabyte each: a move that lasts long enough to be killed in the middle


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str,
             log: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} within {timeout} s" + (f"\n{log()[-4000:]}" if log else ""))


def test_a_worker_killed_mid_move_resumes_the_job_and_counts_no_study_twice(
        node_of_its_own: Callable[..., Node], pacs: Pacs, exchange: Exchange) -> None:
    node = node_of_its_own("worker-killed-node", broker_database=4, PREFETCH_RESEND_SECONDS="20")
    study = a_study(INSTANCES, megabytes=1)
    upload(pacs.a, study)
    uid = str(study[0].StudyInstanceUID)
    job = a_job(exchange, study)
    worker = node.start("worker", "beat").processes["worker"]
    # The test process's own broker is in memory: the job goes to the node's broker.
    with app.connection_for_write(node.env["CELERY_BROKER_URL"]) as connection:
        tasks.run_job.apply_async(args=(job.pk,), connection=connection)  # type: ignore[call-arg]

    row = PrefetchStudy.objects.filter(job=job)
    wait_for(lambda: row.filter(status=PrefetchStudy.MOVING, completed__gt=0,
                                remaining__gt=0).exists(),
             timeout=120, what="the worker reported no progress of the move")
    # The pool process holding the association with hospital A's PACS is the one moving.
    [moving] = [child for child in psutil.Process(worker.pid).children(recursive=True)
                if any(c.raddr and c.raddr[1] == pacs.a.dicom_port for c in child.net_connections())]
    os.kill(moving.pid, signal.SIGKILL)

    wait_for(lambda: PrefetchJob.objects.filter(pk=job.pk, status__in=PrefetchJob.FINISHED).exists(),
             timeout=150, what="the job did not finish after the worker was killed",
             log=worker.output)
    job.refresh_from_db()
    finished = row.get()
    assert worker.alive()
    assert (job.status, job.attempts) == (PrefetchJob.DONE, 2)
    assert (finished.status, finished.attempts) == (PrefetchStudy.DONE, 2)
    assert finished.completed <= INSTANCES and finished.at_destination == INSTANCES
    assert len(held(pacs.b, uid)) == INSTANCES
    audits = [e for e in AuditEvent.objects.filter(event_id="110104") if uid in json.dumps(e.record)]
    assert [e.outcome for e in audits] == [0]
