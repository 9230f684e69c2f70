"""The operators' view of prefetch jobs: the queue's health in the title, progress bars, errors
in words, retry and cancel as actions through the services, nothing for the auditor."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from imaging.models import DicomNode, PrefetchJob, PrefetchStudy
from organisations.models import AssigningAuthority
from organisations.roles import AUDITOR, OPERATOR
from organisations.services import organisation_create
from tests.console import assert_no_query_per_row
from tests.imaging.test_admin import member_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Users made here sign in with force_login: their password need not cost a real hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CHANGELIST = "/admin/imaging/prefetchjob/"


def a_job(status: str, *, reason: str = "") -> PrefetchJob:
    n = PrefetchJob.objects.count() + 1  # each job between two sites of its own
    hospital_a = organisation_create(code=f"hospa-{n}", name="Hospital A",
                                      authority_cx4=f"HOSPA{n}&1.2.3.{n}.1&ISO")
    hospital_b = organisation_create(code=f"hospb-{n}", name="Hospital B",
                                      authority_cx4=f"HOSPB{n}&1.2.3.{n}.2&ISO")
    source = DicomNode.objects.create(organisation=hospital_a, ae_title=f"A{n}_{status}"[:16],
                                      host="127.0.0.1", port=104)
    destination = DicomNode.objects.create(organisation=hospital_b, ae_title=f"B{n}_{status}"[:16],
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
    assert "no association with the source: A_failed (stopped after 5 attempts)" in page


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


def test_each_job_shows_its_studies_done_and_the_running_studys_instances_as_a_bar(
        client: Client) -> None:
    job = a_job(PrefetchJob.RUNNING)
    first = job.studies.get()
    first.status = PrefetchStudy.DONE
    first.save()
    PrefetchStudy.objects.create(job=job, study_instance_uid="1.2.3.5", site=first.site,
                                 source=first.source, status=PrefetchStudy.MOVING, expected=300,
                                 completed=120)
    PrefetchStudy.objects.create(job=job, study_instance_uid="1.2.3.6", site=first.site,
                                 source=first.source)
    operator = member_of(client, OPERATOR)

    page = operator.get(CHANGELIST).content.decode()
    assert '<progress value="1" max="3" style="width: 7em;"></progress> 1/3 studies; ' \
           "moving 120/300 instances" in page

    job_page = operator.get(f"{CHANGELIST}{job.pk}/change/").content.decode()
    assert '<progress value="120" max="300" style="width: 7em;"></progress> 120/300 instances' in job_page


def test_dicom_statuses_and_failed_associations_are_told_in_words_with_the_code_kept(
        client: Client) -> None:
    job = a_job(PrefetchJob.FAILED, reason="1.2.3.4 failed: C-MOVE failed with status 0xA702 "
                                           "(A_failed to B_failed)")
    study = job.studies.get()
    study.error = "source unreachable: A_failed at 127.0.0.1:104 rejected the association"
    study.save()
    operator = member_of(client, OPERATOR)

    page = operator.get(CHANGELIST).content.decode()
    assert "the PACS refused: out of resources, unable to perform sub-operations (0xA702)" in page

    job_page = operator.get(f"{CHANGELIST}{job.pk}/change/").content.decode()
    assert "no association: the source A_failed at 127.0.0.1:104 rejected it" in job_page
    assert "C-MOVE failed with status 0xA702" in job_page  # the raw reason stays on the page


@pytest.mark.parametrize(("error", "words"), [
    ("C-MOVE failed with status 0xA701 (A to B)", "the PACS refused: out of resources, unable to "
                                                  "calculate the number of matches (0xA701) (A to B)"),
    ("C-MOVE failed with status 0xA801 (A to B)", "the PACS refused: the move destination is "
                                                  "unknown to it (0xA801)"),
    ("C-MOVE failed with status 0xC000 (A to B)", "the PACS failed: unable to process (0xC000)"),
    ("C-MOVE failed with status 0xFFFF (A to B)", "the PACS sent no final response"),
    ("destination unreachable: B at 10.0.0.2:104 did not answer",
     "no association: the destination B at 10.0.0.2:104 did not answer"),
    ("source unreachable: A at 10.0.0.1:104: [Errno 111] Connection refused",
     "no association: nobody listens for the source A at 10.0.0.1:104"),
])
def test_each_kind_of_error_reads_as_words(error: str, words: str) -> None:
    from imaging.prefetch.admin import in_words

    assert words in in_words(error)


def test_the_job_list_and_a_jobs_page_take_as_many_queries_for_thirty_rows_as_for_three(
        client: Client) -> None:
    job = a_job(PrefetchJob.RUNNING)
    operator = member_of(client, OPERATOR)

    def jobs(n: int) -> None:
        for _ in range(n):
            a_job(PrefetchJob.QUEUED)

    def studies(n: int) -> None:
        first = job.studies.first()
        assert first is not None
        for _ in range(n):
            PrefetchStudy.objects.create(job=job, study_instance_uid=f"1.2.9.{PrefetchStudy.objects.count()}",
                                         site=first.site, source=first.source)

    assert_no_query_per_row(operator, CHANGELIST, jobs)
    assert_no_query_per_row(operator, f"{CHANGELIST}{job.pk}/change/", studies)
