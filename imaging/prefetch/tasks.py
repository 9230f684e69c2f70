"""Celery task of the prefetcher: a thin interface that runs one job (imaging.prefetch.engine)
with imaging.dicom.move as its DICOM side, and schedules the next run when it must wait.

Stat before routine: the SQLAlchemy broker (the default, on SQLite) has no message priority,
and Redis only emulates it per queue and rotates between queues, so neither a priority nor a
queue of its own guarantees the order. The job table does: a routine job that starts while a
stat job waits for its first run steps aside (YIELD) and is retried a moment later, which
costs it no attempt. The message priority is set too, so Redis mostly delivers stat first.

A killed worker: acks_late with reject_on_worker_lost puts the message back, the next run
counts its attempt in the job row and resumes; a job whose runs keep dying stops after
`max_attempts` (imaging.prefetch.ledger.job_start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from imaging.dicom import move
from imaging.models import DicomNode
from imaging.prefetch import engine
from imaging.prefetch.models import PrefetchJob

logger = logging.getLogger(__name__)

BACKOFF_SECONDS, BACKOFF_MAX = 5, 300  # unreachable peer: 5 s, 10 s, 20 s ... up to 5 minutes
BUSY_SECONDS = 10  # the source's associations are taken
YIELD_SECONDS = 2  # a stat job goes first


class _Dicom:
    """imaging.dicom.move as the engine's DicomSide."""

    unreachable: tuple[type[Exception], ...] = (move.RetrieveError,)

    def study_move(self, *, source: DicomNode, calling_ae: str, destination_ae: str, study_uid: str,
                   on_progress: Callable[[Any], None], timeout: float,
                   should_cancel: Callable[[], bool] | None = None) -> move.MoveResult:
        return move.study_move(source=source, calling_ae=calling_ae, destination_ae=destination_ae,
                               study_uid=study_uid, on_progress=on_progress, timeout=timeout,
                               should_cancel=should_cancel)

    def study_count(self, *, node: DicomNode, calling_ae: str, study_uid: str,
                    timeout: float = engine.FIND_TIMEOUT) -> int | None:
        return move.study_count(node=node, calling_ae=calling_ae, study_uid=study_uid, timeout=timeout)

    def study_instances(self, *, node: DicomNode, calling_ae: str, study_uid: str,
                        timeout: float = engine.FIND_TIMEOUT) -> set[str] | None:
        return move.study_instances(node=node, calling_ae=calling_ae, study_uid=study_uid,
                                    timeout=timeout)


DICOM = _Dicom()


def backoff(attempts: int) -> int:
    return int(min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


@shared_task(bind=True, name="imaging.prefetch.run_job", acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def run_job(self: Task[Any, Any], job_id: int) -> str:
    logger.info("prefetch job %s: run %s", job_id, self.request.id)
    try:
        result = engine.job_run(job_id=job_id, dicom=DICOM, calling_ae=settings.DICOM_AE_TITLE)
    except PrefetchJob.DoesNotExist:
        logger.info("prefetch job %s is gone", job_id)
        return "gone"
    if result.outcome is engine.Outcome.RETRY:
        countdown = backoff(result.attempts)
    elif result.outcome is engine.Outcome.BUSY:
        countdown = BUSY_SECONDS
    elif result.outcome is engine.Outcome.YIELD:
        countdown = YIELD_SECONDS
    else:
        return result.outcome.value
    logger.info("prefetch job %s: %s, next run in %d s", job_id, result.outcome.value, countdown)
    raise self.retry(countdown=countdown)


@shared_task(name="imaging.prefetch.resend_stale_jobs")
def resend_stale_jobs() -> int:
    """The safety net under the broker: jobs whose task message was lost are sent again."""
    from imaging.prefetch.services import jobs_resend_stale

    resent = jobs_resend_stale(older_than_seconds=settings.PREFETCH_RESEND_SECONDS)
    if resent:
        logger.warning("%d prefetch jobs had lost their task message and were sent again", resent)
    return resent
