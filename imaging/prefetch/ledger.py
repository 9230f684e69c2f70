"""The job table's writes while a job runs: starting it, finishing each study exactly once with
its audit record (110104, PS3.15 A.5.3.7), and settling the job."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.events.common import Peer, this_node
from audit.events.dicom import StudyRef, instances_transferred
from audit.services import record
from imaging.models import DicomNode
from imaging.prefetch.models import PrefetchJob, PrefetchStudy

# PS3.15 A.5.1 EventOutcomeIndicator: a transfer done, partial (minor failure), failed (serious).
AUDIT_OUTCOMES = {PrefetchStudy.DONE: 0, PrefetchStudy.PARTIAL: 4, PrefetchStudy.CANCELLED: 4,
                  PrefetchStudy.FAILED: 8}
_UNFINISHED = (PrefetchStudy.QUEUED, PrefetchStudy.MOVING)


def job_start(*, job_id: int) -> tuple[PrefetchJob, str | None]:
    """Count an attempt and mark the job running; or say why it does not run now ("finished",
    "yield"). A job that used up its attempts (its runs kept dying) is failed here."""
    with transaction.atomic():
        job = PrefetchJob.objects.select_for_update().select_related(
            "destination", "organisation").get(pk=job_id)
        if job.status in PrefetchJob.FINISHED:
            return job, "finished"
        # Stat before routine, whatever the broker: a routine job steps aside while a stat job
        # waits for its first run (see imaging.prefetch.tasks).
        if job.priority != PrefetchJob.STAT and PrefetchJob.objects.filter(
                status=PrefetchJob.QUEUED, priority=PrefetchJob.STAT, attempts=0).exists():
            return job, "yield"
        if job.attempts >= job.max_attempts:
            _job_stop(job, f"stopped after {job.attempts} attempts")
            return job, "finished"
        job.attempts += 1
        job.status = PrefetchJob.RUNNING
        job.save(update_fields=["attempts", "status", "updated_at"])
    return job, None


def job_cancelled(*, job_id: int) -> bool:
    return PrefetchJob.objects.filter(pk=job_id, status=PrefetchJob.CANCELLED).exists()


def study_wait(*, study: PrefetchStudy, error: str) -> None:
    """The study could not be moved now: queued again, with why."""
    PrefetchStudy.objects.filter(pk=study.pk, status__in=_UNFINISHED).update(
        status=PrefetchStudy.QUEUED, error=error[:2000])


def study_finish(*, job: PrefetchJob, study: PrefetchStudy, status: str, source: DicomNode,
                 **fields: Any) -> bool:
    """Finish the study, and audit the transfer, unless a run before finished it already."""
    now = timezone.now()
    fields.setdefault("remaining", 0)
    with transaction.atomic():
        finished = PrefetchStudy.objects.filter(pk=study.pk, status__in=_UNFINISHED).update(
            status=status, source=source, finished_at=now, progress_at=now, **fields)
        moved = status != PrefetchStudy.CANCELLED or fields.get("completed")
        if finished and status in AUDIT_OUTCOMES and moved:
            _audit(job=job, study=study, source=source, outcome=AUDIT_OUTCOMES[status],
                   description=str(fields.get("error", "")))
    return bool(finished)


def _audit(*, job: PrefetchJob, study: PrefetchStudy, source: DicomNode, outcome: int,
           description: str) -> None:
    # A.5.3.7: the node ordered the move (requestor); the source sent, the destination received.
    destination = job.destination
    patient_id = job.enterprise_id or f"{job.patient_identifier}^^^&{job.patient_authority.universal_id}&ISO"
    record(instances_transferred(
        sender=Peer(user_id=source.ae_title, host=source.host),
        receiver=Peer(user_id=destination.ae_title, host=destination.host),
        requestor=this_node(settings.DICOM_AE_TITLE), patient_id=patient_id,
        # A radiologist's fetch names her as the person who asked (ITI TF-2 3.20.7: human requestor).
        human_requestor=Peer(user_id=job.requested_by)
        if job.trigger == PrefetchJob.RADIOLOGIST and job.requested_by else None,
        studies=[StudyRef(study_instance_uid=study.study_instance_uid)], action="R",
        outcome=outcome, outcome_description=description[:1000],
    ), organisation=job.organisation.code)


def job_retry_or_stop(*, job: PrefetchJob, reason: str) -> bool:
    """After a run that could not reach a peer: queued for the next try, or, at the last
    attempt, settled with the reason. True when the job is over."""
    with transaction.atomic():
        job = PrefetchJob.objects.select_for_update().select_related("destination", "organisation") \
            .get(pk=job.pk)
        if job.status != PrefetchJob.RUNNING:
            return True
        if job.attempts >= job.max_attempts:
            _job_stop(job, f"{reason} (stopped after {job.attempts} attempts)")
            return True
        job.status, job.reason = PrefetchJob.QUEUED, f"retrying: {reason}"[:2000]
        job.save(update_fields=["status", "reason", "updated_at"])
    return False


def job_wait(*, job: PrefetchJob, reason: str) -> None:
    """Its sources are busy: queued again; waiting is not a try, so the attempt is given back."""
    PrefetchJob.objects.filter(pk=job.pk, status=PrefetchJob.RUNNING, attempts__gt=0).update(
        status=PrefetchJob.QUEUED, attempts=job.attempts - 1, reason=f"waiting: {reason}"[:2000],
        updated_at=timezone.now())


def _job_stop(job: PrefetchJob, reason: str) -> None:
    for study in job.studies.filter(status__in=_UNFINISHED).select_related("source"):
        fields: dict[str, Any] = {"error": reason[:2000]}
        if study.attempts == 0:  # never moved: no transfer to audit
            PrefetchStudy.objects.filter(pk=study.pk).update(
                status=PrefetchStudy.FAILED, finished_at=timezone.now(), **fields)
        else:
            study_finish(job=job, study=study, status=PrefetchStudy.FAILED, source=study.source,
                         **fields)
    _settle(job, stop_reason=reason)


def job_finish(*, job: PrefetchJob) -> None:
    with transaction.atomic():
        job = PrefetchJob.objects.select_for_update().get(pk=job.pk)
        if job.status == PrefetchJob.RUNNING:
            _settle(job)


def _settle(job: PrefetchJob, stop_reason: str = "") -> None:
    """The job's status from its studies': done when each is done or present, failed when none
    got anywhere, partial in between; the reason names each study that did not make it."""
    studies = list(job.studies.all())
    good = [s for s in studies if s.status in (PrefetchStudy.DONE, PrefetchStudy.PRESENT)]
    bad = [s for s in studies if s not in good]
    if not bad:
        status = PrefetchJob.DONE
    elif not good and all(s.status != PrefetchStudy.PARTIAL for s in bad):
        status = PrefetchJob.FAILED
    else:
        status = PrefetchJob.PARTIAL
    details = "; ".join(f"{s.study_instance_uid} {s.status}: {s.error}" for s in bad)
    job.status, job.finished_at = status, timezone.now()
    job.reason = (stop_reason if stop_reason else details)[:4000]
    job.save(update_fields=["status", "finished_at", "reason", "updated_at"])


def counts(progress: Any) -> dict[str, int]:
    """The sub-operation counts of a C-MOVE response (PS3.4 C.4.2.1.4), absent ones as 0."""
    return {"completed": progress.completed or 0, "failed": progress.failed or 0,
            "warning": progress.warning or 0}
