"""The run of one prefetch job: each study counted at the destination, C-MOVEd from its source
(PS3.4 C.4.2), counted again, finished as done, present, partial or failed, and audited.

The DICOM side comes in through `DicomSide` (imaging.dicom.move in production), so this module
speaks no protocol. Every step leaves its result in the rows: a run killed anywhere is resumed
by the next one, which skips finished studies and finishes each study exactly once.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from imaging.models import DicomNode, ManifestInstance
from imaging.prefetch import ledger
from imaging.prefetch.models import PrefetchJob, PrefetchStudy

logger = logging.getLogger(__name__)

MOVE_TIMEOUT = 120.0  # seconds between two C-MOVE responses before the source is given up
FIND_TIMEOUT = 30.0
PROGRESS_EVERY = 0.5  # seconds between two progress writes of one move
# A "moving" row this long without progress belongs to a dead worker: it holds no association.
STALE_MOVE = timedelta(seconds=MOVE_TIMEOUT * 2)
# PS3.4 C.4.2.1.5: Unable to process, and Move Destination unknown. Orthanc answers both a
# destination it does not know and one not listening with 0xC000 and no counts.
DESTINATION_REFUSED = (0xC000, 0xA801)
NOT_KNOWN = "the source does not know the destination AE (or it is not listening)"


class Progress(Protocol):
    """Sub-operation counts of a C-MOVE response (PS3.4 C.4.2.1.4); None when absent."""

    @property
    def remaining(self) -> int | None: ...
    @property
    def completed(self) -> int | None: ...
    @property
    def failed(self) -> int | None: ...
    @property
    def warning(self) -> int | None: ...


class MoveOutcome(Protocol):
    @property
    def status(self) -> int: ...
    @property
    def progress(self) -> Progress: ...
    @property
    def failed_uids(self) -> tuple[str, ...]: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def ok(self) -> bool: ...


class DicomSide(Protocol):
    """What the engine asks of DICOM (imaging.dicom.move); `unreachable` are its errors for a
    peer that could not be asked."""

    unreachable: tuple[type[Exception], ...]

    def study_move(self, *, source: DicomNode, calling_ae: str, destination_ae: str, study_uid: str,
                   on_progress: Callable[[Any], None], timeout: float,
                   should_cancel: Callable[[], bool] | None = None) -> MoveOutcome: ...

    def study_count(self, *, node: DicomNode, calling_ae: str, study_uid: str,
                    timeout: float = FIND_TIMEOUT) -> int | None: ...

    def study_instances(self, *, node: DicomNode, calling_ae: str, study_uid: str,
                        timeout: float = FIND_TIMEOUT) -> set[str] | None: ...


class Outcome(enum.Enum):
    FINISHED = "finished"  # done, partial, failed or cancelled: nothing left to run
    RETRY = "retry"  # a source or the destination was unreachable: run again after a backoff
    BUSY = "busy"  # every source of a study is moving as many studies as it takes
    YIELD = "yield"  # a routine job waits while stat jobs are queued


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    attempts: int = 0
    reason: str = ""


class _Unavailable(Exception):
    """A study could not be moved now: RETRY or BUSY, with why."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


def job_run(*, job_id: int, dicom: DicomSide, calling_ae: str) -> RunResult:
    """Run (or resume) a job once; the caller schedules the next run for RETRY, BUSY, YIELD."""
    job, early = ledger.job_start(job_id=job_id)
    if early is not None:
        return RunResult(Outcome(early), job.attempts, job.reason)
    logger.info("prefetch job %s: attempt %d of %d", job.pk, job.attempts, job.max_attempts)
    waiting: list[_Unavailable] = []
    studies = job.studies.exclude(status__in=PrefetchStudy.FINISHED).select_related("source")
    for study in studies.order_by("pk"):
        if ledger.job_cancelled(job_id=job.pk):
            return RunResult(Outcome.FINISHED, job.attempts, "cancelled")
        try:
            _study_run(job=job, study=study, dicom=dicom, calling_ae=calling_ae)
        except _Unavailable as why:
            ledger.study_wait(study=study, error=why.reason)
            waiting.append(why)
    retry = [w.reason for w in waiting if w.outcome is Outcome.RETRY]
    if retry:
        stopped = ledger.job_retry_or_stop(job=job, reason="; ".join(retry))
        return RunResult(Outcome.FINISHED if stopped else Outcome.RETRY, job.attempts, "; ".join(retry))
    if waiting:
        reason = "; ".join(w.reason for w in waiting)
        ledger.job_wait(job=job, reason=reason)
        return RunResult(Outcome.BUSY, job.attempts, reason)
    ledger.job_finish(job=job)
    return RunResult(Outcome.FINISHED, job.attempts)


def _study_run(*, job: PrefetchJob, study: PrefetchStudy, dicom: DicomSide, calling_ae: str) -> None:
    destination = job.destination
    at_destination = _count(dicom, destination, calling_ae, study.study_instance_uid)
    if study.expected and at_destination >= study.expected:
        # Never moved by this job: it was there already. Moved by a run that died before
        # counting: the move completed.
        status = PrefetchStudy.PRESENT if study.attempts == 0 else PrefetchStudy.DONE
        ledger.study_finish(job=job, study=study, status=status, source=study.source,
                            at_destination=at_destination)
        return
    unreachable, busy = [], []
    for source in _sources(study=study, destination=destination):
        if not _claim(study=study, source=source):
            busy.append(f"{source.ae_title} is moving {source.max_associations} studies already")
            continue
        try:
            _move(job=job, study=study, source=source, dicom=dicom, calling_ae=calling_ae,
                  at_destination=at_destination)
            return
        except dicom.unreachable as exc:
            unreachable.append(f"source unreachable: {exc}")
    if unreachable:
        raise _Unavailable(Outcome.RETRY, "; ".join(unreachable))
    raise _Unavailable(Outcome.BUSY, "; ".join(busy) or "no active source holds the study")


def _count(dicom: DicomSide, node: DicomNode, calling_ae: str, study_uid: str) -> int:
    try:
        count = dicom.study_count(node=node, calling_ae=calling_ae, study_uid=study_uid)
    except dicom.unreachable as exc:
        raise _Unavailable(Outcome.RETRY, f"destination unreachable: {exc}") from exc
    return count or 0


def _sources(*, study: PrefetchStudy, destination: DicomNode) -> list[DicomNode]:
    """The study's source first, then the other active sources of its site (fallbacks)."""
    others = DicomNode.objects.filter(organisation_id=study.site_id, is_source=True, active=True) \
        .exclude(pk__in=[study.source_id, destination.pk]).order_by("pk")
    first = [study.source] if study.source.active else []
    return first + list(others)


def _claim(*, study: PrefetchStudy, source: DicomNode) -> bool:
    """Take one of the source's associations for this study, unless all are taken. The source
    row is locked while counting (on SQLite the IMMEDIATE transaction serializes the same)."""
    now = timezone.now()
    with transaction.atomic():
        node = DicomNode.objects.select_for_update().get(pk=source.pk)
        moving = PrefetchStudy.objects.filter(source=node, status=PrefetchStudy.MOVING,
                                              progress_at__gte=now - STALE_MOVE).exclude(pk=study.pk)
        if moving.count() >= node.max_associations:
            return False
        PrefetchStudy.objects.filter(pk=study.pk).update(
            status=PrefetchStudy.MOVING, source=node, attempts=F("attempts") + 1, started_at=now,
            progress_at=now, error="", completed=0, failed=0, warning=0)
    study.source, study.status = node, PrefetchStudy.MOVING
    return True


def _move(*, job: PrefetchJob, study: PrefetchStudy, source: DicomNode, dicom: DicomSide,
          calling_ae: str, at_destination: int) -> None:
    uid = study.study_instance_uid
    expected = study.expected or _source_count(dicom, source, calling_ae, uid)
    if expected and at_destination >= expected:
        ledger.study_finish(job=job, study=study, status=PrefetchStudy.PRESENT, source=source,
                            at_destination=at_destination, expected=expected)
        return
    logger.info("prefetch job %s: C-MOVE of %s from %s to %s (%d expected, %d there)", job.pk, uid,
                source.ae_title, job.destination.ae_title, expected, at_destination)
    tracker = _Tracker(job_id=job.pk, study_id=study.pk)
    result = dicom.study_move(source=source, calling_ae=calling_ae, destination_ae=job.destination.ae_title,
                              study_uid=uid, on_progress=tracker.progress, timeout=MOVE_TIMEOUT,
                              should_cancel=tracker.cancelled)
    counts = ledger.counts(result.progress)
    after = _count(dicom, job.destination, calling_ae, uid)
    logger.info("prefetch job %s: %s moved, status 0x%04X, %d at the destination", job.pk, uid,
                result.status & 0xFFFF, after)
    expected = expected or counts["completed"] + counts["failed"] + counts["warning"]
    fields: dict[str, Any] = {**counts, "at_destination": after, "expected": expected}
    if result.cancelled or ledger.job_cancelled(job_id=job.pk):
        ledger.study_finish(job=job, study=study, status=PrefetchStudy.CANCELLED, source=source,
                            error="cancelled during the move", **fields)
    elif expected and after >= expected:
        ledger.study_finish(job=job, study=study, status=PrefetchStudy.DONE, source=source, **fields)
    elif after == 0 and not result.ok and not counts["completed"]:
        error = (NOT_KNOWN if result.status in DESTINATION_REFUSED
                 else f"C-MOVE failed with status 0x{result.status & 0xFFFF:04X}")
        ledger.study_finish(job=job, study=study, status=PrefetchStudy.FAILED, source=source,
                            error=f"{error} ({source.ae_title} to {job.destination.ae_title})", **fields)
    elif after == 0 and not expected:
        ledger.study_finish(job=job, study=study, status=PrefetchStudy.FAILED, source=source,
                            error=f"{source.ae_title} holds no instance of the study", **fields)
    else:
        missing = _missing(dicom, job.destination, calling_ae, uid, result.failed_uids)
        error = f"{after} of {expected} instances at the destination"
        ledger.study_finish(job=job, study=study, status=PrefetchStudy.PARTIAL, source=source,
                            missing="\n".join(missing),
                            error=error + (f"; missing: {', '.join(missing)}" if missing else ""),
                            **fields)


def _source_count(dicom: DicomSide, source: DicomNode, calling_ae: str, uid: str) -> int:
    return dicom.study_count(node=source, calling_ae=calling_ae, study_uid=uid) or 0


def _missing(dicom: DicomSide, destination: DicomNode, calling_ae: str, uid: str,
             failed_uids: tuple[str, ...]) -> list[str]:
    """The instances the manifests name that the destination lacks, and those the source
    reported failed (Failed SOP Instance UID List, PS3.4 C.4.2.1.4.2)."""
    named = set(ManifestInstance.objects.filter(series__study__study_instance_uid=uid)
                .values_list("sop_instance_uid", flat=True))
    held: set[str] | None = set()
    if named:
        try:
            held = dicom.study_instances(node=destination, calling_ae=calling_ae, study_uid=uid)
        except dicom.unreachable:
            held = None
    lacking = named - held if held is not None else set()
    return sorted(lacking | set(failed_uids))


class _Tracker:
    """Pending responses written to the study's row, and the job's cancel read, at most every
    PROGRESS_EVERY seconds: a move of thousands of instances writes a few rows a second."""

    def __init__(self, *, job_id: int, study_id: int) -> None:
        self.job_id, self.study_id = job_id, study_id
        self._written = self._read = 0.0

    def progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._written < PROGRESS_EVERY:
            return
        self._written = now
        PrefetchStudy.objects.filter(pk=self.study_id, status=PrefetchStudy.MOVING).update(
            progress_at=timezone.now(), remaining=progress.remaining or 0, **ledger.counts(progress))

    def cancelled(self) -> bool:
        now = time.monotonic()
        if now - self._read < PROGRESS_EVERY:
            return False
        self._read = now
        return ledger.job_cancelled(job_id=self.job_id)
