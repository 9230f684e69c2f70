"""Redis, the Celery broker of the scaled topology, killed and started again with prefetch jobs
queued, and again under a running worker: every job completes once, on the same worker process.

What the node requires of its Redis: persistence of every write (`appendonly yes`, `appendfsync
always`). The node's tasks are acknowledged late (config/settings.py: CELERY_TASK_ACKS_LATE), so a
queued or running task lives in Redis until it is done; a Redis without persistence (the default
`save` snapshots, or none) forgets it when it restarts, and the job would never run.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit.models import AuditEvent
from config.celery import app
from imaging.prefetch import tasks
from imaging.prefetch.models import PrefetchJob
from tests.audit.test_forwarding import start_worker
from tests.imaging.prefetch.conftest import Exchange, Pacs, a_job, a_study, held, upload
from tests.servers.node import Node
from tests.servers.process import ServerProcess, free_port, require_binary
from tests.stress.conftest import STRESS_MARKS, eventually

pytestmark = STRESS_MARKS
INSTANCES = 3


@dataclass
class DurableRedis:
    """redis-server as the node requires it: every write appended to its log and fsynced."""

    process: ServerProcess
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def crash_and_start(self) -> None:
        """SIGKILL, no shutdown of its own; started again on the same port and folder."""
        assert self.process.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.process.wait(timeout=30)
        self.process.start().wait_for_port(self.port)


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[DurableRedis]:
    port = free_port()
    process = ServerProcess(
        "redis", [require_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                  "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)],
        log_dir=tmp_path,
    ).start()
    process.wait_for_port(port)
    yield DurableRedis(process, port)
    process.stop()


def test_prefetch_jobs_queued_across_a_redis_crash_all_complete_once(
        own_node: Callable[..., Node], durable_redis: DurableRedis, pacs: Pacs, exchange: Exchange) -> None:
    node = own_node(CELERY_BROKER_URL=durable_redis.url, LOG_LEVEL="INFO")
    studies = [a_study(INSTANCES) for _ in range(4)]
    for study in studies:
        upload(pacs.a, study)
    jobs = [a_job(exchange, study) for study in studies]

    # Queued while no worker runs, then Redis crashes and comes back.
    enqueue(node, jobs[:2])
    durable_redis.crash_and_start()
    start_worker(node)
    worker = node.processes["worker"]
    finished(jobs[:2], worker.output)

    # Redis crashes under the running worker; jobs queued after it is back reach the same worker.
    durable_redis.crash_and_start()
    enqueue(node, jobs[2:])
    finished(jobs[2:], worker.output)
    assert worker.alive() and worker.pid == node.processes["worker"].pid

    for job, study in zip(jobs, studies, strict=True):
        job.refresh_from_db()
        assert (job.status, job.attempts) == (PrefetchJob.DONE, 1)
        uid = str(study[0].StudyInstanceUID)
        assert len(held(pacs.b, uid)) == INSTANCES
        audits = [e for e in AuditEvent.objects.filter(event_id="110104") if uid in json.dumps(e.record)]
        assert [e.outcome for e in audits] == [0]


def enqueue(node: Node, jobs: list[PrefetchJob]) -> None:
    """The jobs' tasks sent to the node's broker (the test process's own broker is in memory)."""
    with app.connection_for_write(node.env["CELERY_BROKER_URL"]) as connection:
        for job in jobs:
            tasks.run_job.apply_async(args=(job.pk,), connection=connection)  # type: ignore[call-arg]


def finished(jobs: list[PrefetchJob], log: Callable[[], str]) -> None:
    pks = [job.pk for job in jobs]
    eventually(lambda: PrefetchJob.objects.filter(pk__in=pks, status__in=PrefetchJob.FINISHED).count()
               == len(pks), timeout=120, what="the queued jobs did not finish", log=log)
