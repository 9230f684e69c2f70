"""The operators' view of prefetch jobs: the queue's health in the title, retry and cancel as
actions through the services, nothing for the auditor."""

from __future__ import annotations

import pytest
from django.test import Client

from imaging.models import DicomNode, PrefetchJob, PrefetchStudy
from organisations.models import AssigningAuthority
from organisations.roles import AUDITOR, OPERATOR
from organisations.services import organisation_create
from tests.imaging.test_admin import member_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/imaging/prefetchjob/"


def a_job(status: str, *, reason: str = "") -> PrefetchJob:
    n = PrefetchJob.objects.count() + 1  # each job between two sites of its own
    hospital_a = organisation_create(code=f"hospa-{n}", name="Hospital A",
                                      authority_cx4=f"HOSPA{n}&1.2.3.{n}.1&ISO")
    hospital_b = organisation_create(code=f"hospb-{n}", name="Hospital B",
                                      authority_cx4=f"HOSPB{n}&1.2.3.{n}.2&ISO")
    source = DicomNode.objects.create(organisation=hospital_a, ae_title=f"A_{status}"[:16],
                                      host="127.0.0.1", port=104)
    destination = DicomNode.objects.create(organisation=hospital_b, ae_title=f"B_{status}"[:16],
                                           host="127.0.0.1", port=105, is_source=False,
                                           is_destination=True)
    job = PrefetchJob.objects.create(
        organisation=hospital_b, destination=destination, trigger=PrefetchJob.ORDER,
        patient_authority=AssigningAuthority.objects.get(organisation=hospital_b),
        patient_identifier="B777", status=status, reason=reason, attempts=5)
    PrefetchStudy.objects.create(job=job, study_instance_uid="1.2.3.4", site=hospital_a, source=source,
                                 status=PrefetchStudy.FAILED if status == "failed" else PrefetchStudy.QUEUED,
                                 error=reason)
    return job


def test_the_job_list_says_how_many_are_queued_running_and_failed(client: Client) -> None:
    a_job(PrefetchJob.QUEUED)
    a_job(PrefetchJob.FAILED, reason="source unreachable: A_failed (stopped after 5 attempts)")
    operator = member_of(client, OPERATOR)

    page = operator.get(CHANGELIST).content.decode()

    assert "Prefetch jobs: 1 queued, 0 running, 1 failed" in page
    assert "source unreachable: A_failed (stopped after 5 attempts)" in page


def test_the_operator_retries_a_failed_job_and_cancels_a_queued_one(client: Client) -> None:
    failed = a_job(PrefetchJob.FAILED, reason="source unreachable")
    queued = a_job(PrefetchJob.QUEUED)
    operator = member_of(client, OPERATOR)

    operator.post(CHANGELIST, {"action": "retry_jobs", "_selected_action": [failed.pk]})
    operator.post(CHANGELIST, {"action": "cancel_jobs", "_selected_action": [queued.pk]})

    failed.refresh_from_db()
    queued.refresh_from_db()
    assert (failed.status, failed.attempts) == (PrefetchJob.QUEUED, 0)
    assert queued.status == PrefetchJob.CANCELLED
    assert queued.studies.get().status == PrefetchStudy.CANCELLED


def test_a_running_job_cannot_be_retried_and_the_operator_is_told_why(client: Client) -> None:
    running = a_job(PrefetchJob.RUNNING)
    operator = member_of(client, OPERATOR)

    response = operator.post(CHANGELIST, {"action": "retry_jobs", "_selected_action": [running.pk]},
                             follow=True)

    running.refresh_from_db()
    assert running.status == PrefetchJob.RUNNING
    assert "only a failed, partial" in response.content.decode()


def test_the_auditor_does_not_see_the_jobs(client: Client) -> None:
    auditor = member_of(client, AUDITOR)

    assert auditor.get(CHANGELIST).status_code == 403
