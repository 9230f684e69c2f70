"""Writes of prefetch jobs: create one for a patient's priors, cancel it, try it again.

Each runs in one transaction; the job's task is enqueued when it commits, so a worker never
looks for a row that is not there yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from imaging.models import DicomNode
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from imaging.prefetch.types import PriorStudy
from organisations.models import AssigningAuthority, Organisation


class PrefetchError(Exception):
    """A request about a job that its state does not allow (e.g. cancelling a finished job)."""


def job_create(*, organisation: Organisation, destination: DicomNode,
               patient_authority: AssigningAuthority, patient_identifier: str, enterprise_id: str,
               studies: Sequence[PriorStudy], trigger: str, priority: int, requested_by: str,
               order_reference: str = "", order_modality: str = "") -> PrefetchJob:
    """A job moving `studies` to `destination`, with one PrefetchStudy each, enqueued on commit.

    A study already queued or moving to the same destination in another unfinished job gets
    no row here: the other job brings it. Studies the asking site holds already
    (`already_here`) are skipped too. When nothing is left, the job is done at once.
    """
    if priority not in (PrefetchJob.STAT, PrefetchJob.ROUTINE):
        raise ValueError(f"priority is stat ({PrefetchJob.STAT}) or routine ({PrefetchJob.ROUTINE})")
    with transaction.atomic():
        job = PrefetchJob.objects.create(
            organisation=organisation, destination=destination, patient_authority=patient_authority,
            patient_identifier=patient_identifier, enterprise_id=enterprise_id, trigger=trigger,
            priority=priority, requested_by=requested_by[:150], order_reference=order_reference[:64],
            order_modality=order_modality[:16])
        wanted = {s.study_instance_uid: s for s in studies if not s.already_here}
        on_the_way = set(PrefetchStudy.objects.filter(
            job__destination=destination, study_instance_uid__in=list(wanted),
            status__in=(PrefetchStudy.QUEUED, PrefetchStudy.MOVING),
        ).exclude(job__status__in=PrefetchJob.FINISHED).values_list("study_instance_uid", flat=True))
        rows = [_study_row(job, prior) for uid, prior in wanted.items() if uid not in on_the_way]
        PrefetchStudy.objects.bulk_create(rows)
        if not rows:
            job.status, job.finished_at = PrefetchJob.DONE, timezone.now()
            job.reason = ("every study is at the destination already or on its way there in "
                          "another job")
            job.save(update_fields=["status", "finished_at", "reason", "updated_at"])
        else:
            transaction.on_commit(lambda: _enqueue(job))
    return job


def _study_row(job: PrefetchJob, prior: PriorStudy) -> PrefetchStudy:
    return PrefetchStudy(
        job=job, study_instance_uid=prior.study_instance_uid, study_date=prior.study_date[:8],
        modalities=" ".join(prior.modalities)[:128], description=prior.description[:64],
        body_part=prior.body_part[:64], site_id=prior.site_id, source_id=prior.source_id,
        expected=max(prior.instances, 0))


def job_cancel(*, job: PrefetchJob, actor: str) -> PrefetchJob:
    """Cancel an unfinished job: it stops before its next study, and a running C-MOVE is
    cancelled (PS3.4 C.4.2.3.2, C-CANCEL) the next time its progress is written."""
    with transaction.atomic():
        job = PrefetchJob.objects.select_for_update().get(pk=job.pk)
        if job.status in PrefetchJob.FINISHED:
            raise PrefetchError(f"prefetch job {job.pk} is {job.status} already")
        now = timezone.now()
        job.status, job.finished_at = PrefetchJob.CANCELLED, now
        job.reason = f"cancelled by {actor}" if actor else "cancelled"
        job.save(update_fields=["status", "finished_at", "reason", "updated_at"])
        job.studies.filter(status=PrefetchStudy.QUEUED).update(
            status=PrefetchStudy.CANCELLED, finished_at=now)
    return job


def job_retry(*, job: PrefetchJob, actor: str) -> PrefetchJob:
    """Run a failed, partial or cancelled job again: its studies that did not end done or
    present are queued again, and its attempts start from zero."""
    with transaction.atomic():
        job = PrefetchJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (PrefetchJob.FAILED, PrefetchJob.PARTIAL, PrefetchJob.CANCELLED):
            raise PrefetchError(f"prefetch job {job.pk} is {job.status}: only a failed, partial "
                                "or cancelled job is retried")
        job.status, job.attempts, job.finished_at = PrefetchJob.QUEUED, 0, None
        job.reason = f"retried by {actor}" if actor else ""
        job.save(update_fields=["status", "attempts", "finished_at", "reason", "updated_at"])
        job.studies.exclude(status__in=(PrefetchStudy.DONE, PrefetchStudy.PRESENT)).update(
            status=PrefetchStudy.QUEUED, attempts=0, completed=0, failed=0, warning=0, remaining=0,
            missing="", error="", started_at=None, finished_at=None)
        transaction.on_commit(lambda: _enqueue(job))
    return job


def jobs_resend_stale(*, older_than_seconds: float) -> int:
    """Send again the task of each unfinished job untouched for `older_than_seconds`: neither
    the job row (each run, retry and wait writes it) nor any of its studies' move progress.

    The job table is the truth, the broker only a delivery: a message lost with a broker that
    does not persist, or never sent because the broker was down when the job committed, would
    otherwise leave the job queued for ever. A message that was only late makes a second run,
    which finds the job finished or resumes it (imaging.prefetch.ledger.job_start)."""
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = (PrefetchJob.objects.filter(status__in=(PrefetchJob.QUEUED, PrefetchJob.RUNNING),
                                        updated_at__lt=since)
             .exclude(studies__progress_at__gte=since).distinct())
    resent = 0
    for job in stale.order_by("priority", "pk"):
        with transaction.atomic():
            # Touched, so that the next sweep waits its turn again; skipped if a run touched it.
            if PrefetchJob.objects.filter(pk=job.pk, updated_at=job.updated_at).update(
                    updated_at=timezone.now()):
                transaction.on_commit(lambda job=job: _enqueue(job))  # type: ignore[misc]
                resent += 1
    return resent


def _enqueue(job: PrefetchJob) -> None:
    from imaging.prefetch.tasks import run_job

    run_job.apply_async(args=(job.pk,), priority=job.priority)
