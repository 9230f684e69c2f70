"""Prefetch jobs run against real PACSs: hospital A's Orthanc moves Jane's priors to hospital
B's Orthanc, and what arrived is counted there by its REST API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from imaging.models import DicomNode
from imaging.prefetch import engine, services
from imaging.prefetch.engine import Outcome
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from tests.imaging.prefetch.conftest import (
    ENTERPRISE_ID,
    Exchange,
    Pacs,
    a_job,
    a_study,
    held,
    manifest_names,
    run,
    upload,
)
from tests.servers.process import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def transfers(study_uid: str) -> list[AuditEvent]:
    return [e for e in AuditEvent.objects.filter(event_id="110104").order_by("pk")
            if study_uid in json.dumps(e.record)]


def test_a_study_moves_from_hospital_a_to_hospital_b_and_is_counted_done(
        pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(3)
    upload(pacs.a, study)
    uid = str(study[0].StudyInstanceUID)
    job = a_job(exchange, study)

    assert run(job).outcome is Outcome.FINISHED

    job.refresh_from_db()
    row = job.studies.get()
    assert (job.status, job.attempts, row.status) == (PrefetchJob.DONE, 1, PrefetchStudy.DONE)
    assert (row.expected, row.completed, row.failed, row.at_destination) == (3, 3, 0, 3)
    assert row.progress_at is not None and row.finished_at is not None
    assert held(pacs.b, uid) == {str(ds.SOPInstanceUID) for ds in study}
    [audit] = transfers(uid)
    assert audit.outcome == 0 and ENTERPRISE_ID in audit.patient_ids


def test_a_study_already_at_hospital_b_is_present_and_not_moved(pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(2)
    upload(pacs.a, study)
    upload(pacs.b, study)
    job = a_job(exchange, study)

    run(job)

    job.refresh_from_db()
    row = job.studies.get()
    assert (job.status, row.status, row.attempts, row.completed) == (
        PrefetchJob.DONE, PrefetchStudy.PRESENT, 0, 0)
    assert row.at_destination == 2
    assert transfers(row.study_instance_uid) == []


def test_a_study_queued_in_another_unfinished_job_is_not_queued_twice(
        pacs: Pacs, exchange: Exchange) -> None:
    study, other = a_study(1), a_study(1)
    first = a_job(exchange, study)
    second = a_job(exchange, study, other)
    assert list(second.studies.values_list("study_instance_uid", flat=True)) == [
        str(other[0].StudyInstanceUID)]
    assert first.studies.count() == 1


def test_a_source_down_is_retried_then_fails_with_a_clear_reason_and_a_retry_succeeds_once_it_is_back(
        pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(2)
    upload(pacs.a, study)
    uid = str(study[0].StudyInstanceUID)
    job = a_job(exchange, study)
    PrefetchJob.objects.filter(pk=job.pk).update(max_attempts=3)
    pacs.a.stop()
    try:
        outcomes = [run(job).outcome for _ in range(3)]
        job.refresh_from_db()
        assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FINISHED]
        assert job.status == PrefetchJob.FAILED
        assert "source unreachable: HOSPA_PACS" in job.reason
        assert "stopped after 3 attempts" in job.reason
        assert job.studies.get().status == PrefetchStudy.FAILED
    finally:
        pacs.a.restart()

    services.job_retry(job=job, actor="operator")
    assert run(job).outcome is Outcome.FINISHED
    job.refresh_from_db()
    assert (job.status, job.attempts) == (PrefetchJob.DONE, 1)
    assert len(held(pacs.b, uid)) == 2


def test_a_destination_hospital_a_does_not_know_fails_as_such_by_the_count_check(
        pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(2)
    upload(pacs.a, study)
    # Hospital B's PACS under a second AE title, which hospital A's PACS has never heard of.
    unknown = exchange.b_pacs
    unknown.pk, unknown.ae_title = None, "HOSPB_ARCHIVE"
    unknown.save()
    job = a_job(exchange, study, destination=unknown)

    run(job)

    job.refresh_from_db()
    row = job.studies.get()
    assert (job.status, row.status, row.at_destination) == (PrefetchJob.FAILED, PrefetchStudy.FAILED, 0)
    assert engine.NOT_KNOWN in row.error and "HOSPB_ARCHIVE" in row.error
    assert engine.NOT_KNOWN in job.reason
    assert [e.outcome for e in transfers(row.study_instance_uid)] == [8]


def test_an_instance_missing_at_hospital_a_ends_the_study_partial_naming_it(
        pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(3)
    ids = upload(pacs.a, study)
    manifest_names(study)
    lost = str(study[1].SOPInstanceUID)
    with pacs.a.rest() as rest:
        rest.delete(f"/instances/{ids[lost]}").raise_for_status()
    job = a_job(exchange, study)

    run(job)

    job.refresh_from_db()
    row = job.studies.get()
    assert (job.status, row.status) == (PrefetchJob.PARTIAL, PrefetchStudy.PARTIAL)
    assert (row.expected, row.at_destination, row.missing) == (3, 2, lost)
    assert lost in row.error and lost in job.reason
    assert lost not in held(pacs.b, row.study_instance_uid)
    assert [e.outcome for e in transfers(row.study_instance_uid)] == [4]


def test_a_cancelled_job_stops_before_its_studies(pacs: Pacs, exchange: Exchange) -> None:
    first, second = a_study(1), a_study(1)
    upload(pacs.a, first + second)
    job = a_job(exchange, first, second)
    services.job_cancel(job=job, actor="operator")

    assert run(job).outcome is Outcome.FINISHED

    job.refresh_from_db()
    assert job.status == PrefetchJob.CANCELLED and job.reason == "cancelled by operator"
    assert set(job.studies.values_list("status", flat=True)) == {PrefetchStudy.CANCELLED}
    assert held(pacs.b, str(first[0].StudyInstanceUID)) == set()
    assert held(pacs.b, str(second[0].StudyInstanceUID)) == set()


def test_a_job_whose_runs_kept_dying_stops_after_its_maximum_attempts(
        pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(1)
    upload(pacs.a, study)
    job = a_job(exchange, study)
    PrefetchJob.objects.filter(pk=job.pk).update(attempts=job.max_attempts, status=PrefetchJob.RUNNING)

    assert run(job).outcome is Outcome.FINISHED

    job.refresh_from_db()
    assert job.status == PrefetchJob.FAILED
    assert job.reason == f"stopped after {job.max_attempts} attempts"
    assert held(pacs.b, str(study[0].StudyInstanceUID)) == set()


def test_a_routine_job_steps_aside_while_a_stat_job_waits(pacs: Pacs, exchange: Exchange) -> None:
    routine_study, stat_study = a_study(1), a_study(1)
    upload(pacs.a, routine_study + stat_study)
    routine = a_job(exchange, routine_study)
    stat = a_job(exchange, stat_study, priority=PrefetchJob.STAT)

    assert run(routine).outcome is Outcome.YIELD
    routine.refresh_from_db()
    assert (routine.status, routine.attempts) == (PrefetchJob.QUEUED, 0)
    assert held(pacs.b, str(routine_study[0].StudyInstanceUID)) == set()

    assert run(stat).outcome is Outcome.FINISHED
    assert run(routine).outcome is Outcome.FINISHED
    stat.refresh_from_db()
    routine.refresh_from_db()
    assert (stat.status, routine.status) == (PrefetchJob.DONE, PrefetchJob.DONE)
    stat_started, routine_started = stat.studies.get().started_at, routine.studies.get().started_at
    assert stat_started is not None and routine_started is not None
    assert stat_started < routine_started


def test_a_source_moving_as_many_studies_as_it_takes_makes_the_next_job_wait(
        pacs: Pacs, exchange: Exchange) -> None:
    exchange.a_pacs.max_associations = 1
    exchange.a_pacs.save()
    busy_study, study = a_study(1), a_study(1)
    upload(pacs.a, study)
    busy = a_job(exchange, busy_study)
    busy.studies.update(status=PrefetchStudy.MOVING, progress_at=timezone.now())
    job = a_job(exchange, study)

    result = run(job)

    job.refresh_from_db()
    assert result.outcome is Outcome.BUSY
    assert (job.status, job.attempts) == (PrefetchJob.QUEUED, 0)
    assert "HOSPA_PACS is moving 1 studies already" in job.reason
    assert job.studies.get().status == PrefetchStudy.QUEUED
    assert held(pacs.b, str(study[0].StudyInstanceUID)) == set()

    # A move whose worker died long ago holds no association.
    busy.studies.update(progress_at=timezone.now() - engine.STALE_MOVE - timedelta(seconds=1))
    assert run(job).outcome is Outcome.FINISHED
    assert len(held(pacs.b, str(study[0].StudyInstanceUID))) == 1


def test_a_study_whose_own_source_is_down_comes_from_another_pacs_of_its_site(
        pacs: Pacs, exchange: Exchange) -> None:
    # Hospital A's archive answers for the same studies as its PACS (the same Orthanc here); the
    # PACS the manifest named listens nowhere.
    study = a_study(2)
    upload(pacs.a, study)
    DicomNode.objects.filter(pk=exchange.a_pacs.pk).update(port=free_port())
    archive = DicomNode.objects.create(organisation=exchange.hospital_a, ae_title="HOSPA_VNA",
                                       host="127.0.0.1", port=pacs.a.dicom_port)
    job = a_job(exchange, study)

    assert run(job).outcome is Outcome.FINISHED

    job.refresh_from_db()
    row = job.studies.get()
    assert (job.status, row.status, row.source_id) == (PrefetchJob.DONE, PrefetchStudy.DONE, archive.pk)
    assert held(pacs.b, row.study_instance_uid) == {str(ds.SOPInstanceUID) for ds in study}
