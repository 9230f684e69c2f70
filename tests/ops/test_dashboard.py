"""The console's front page: the exchange's health at a glance, each tile for the roles it concerns,
read from real rows in a number of queries that does not grow with them."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from audit.models import AuditChain, AuditEvent
from audit.services import record
from config.celery import app as celery_app
from empi.models import PatientRecord, Person, ReviewItem
from imaging.models import DicomNode
from imaging.prefetch.models import PrefetchJob
from ops.dashboard import RED, Dashboard
from ops.models import Heartbeat
from organisations.models import AssigningAuthority, Organisation
from organisations.roles import AUDITOR, DATA_STEWARD, OPERATOR
from organisations.services import organisation_create
from tests.audit.factories import a_query_record
from tests.console import assert_no_query_per_row, signed_in

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
_serial = count(1)


@pytest.fixture(autouse=True)
def fresh_figures() -> Iterator[None]:
    cache.clear()  # the figures are cached for half a minute: each test reads its own rows
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def roomy_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A volume with room to spare, whatever the machine running the tests has."""
    usage = shutil._ntuple_diskusage(total=100 * 2**30, used=40 * 2**30, free=60 * 2**30)
    monkeypatch.setattr("ops.dashboard_node.shutil.disk_usage", lambda path: usage)


def dashboard(client: Client) -> Dashboard:
    response = client.get(INDEX)
    assert response.status_code == 200
    figures: Dashboard = response.context["dashboard"]
    return figures


def transactions(n: int, *, outcome: int = 0, organisation: str = "hospa", hours_ago: float = 0) -> None:
    when = timezone.now() - timedelta(hours=hours_ago)
    for _ in range(n):
        record(dataclasses.replace(a_query_record(outcome=outcome), event_datetime=when),
               organisation=organisation)


def hospital_b() -> Organisation:
    n = next(_serial)
    return organisation_create(code=f"hospb-{n}", name="Hospital B",
                               authority_cx4=f"HOSPB{n}&1.2.3.{n}.2&ISO")


def prefetch_jobs(n: int, status: str) -> None:
    site = hospital_b()
    pacs = DicomNode.objects.create(organisation=site, ae_title=f"B_PACS_{site.pk}", host="127.0.0.1",
                                    port=105, is_source=False, is_destination=True)
    authority = AssigningAuthority.objects.get(organisation=site)
    PrefetchJob.objects.bulk_create(
        PrefetchJob(organisation=site, destination=pacs, trigger=PrefetchJob.ORDER,
                    patient_authority=authority, patient_identifier=f"B{i}", status=status)
        for i in range(n))


def open_reviews(n: int) -> None:
    authority = AssigningAuthority.objects.get(organisation=hospital_b())
    for i in range(n):
        jane, jaen = (Person.objects.create(enterprise_id=f"EID-{authority.pk}-{i}-{side}")
                      for side in "ab")
        at_a, at_b = (PatientRecord.objects.create(authority=authority, identifier=f"{side}{i}",
                                                   given="Jane", family="Doe", person=person)
                      for side, person in (("A", jane), ("B", jaen)))
        ReviewItem.objects.create(record=at_b, candidate=jane, candidate_record=at_a, score=12.5)


def heartbeat(seconds_ago: float) -> None:
    Heartbeat.objects.update_or_create(
        process="worker", defaults={"beat_at": timezone.now() - timedelta(seconds=seconds_ago)})


def test_the_operator_sees_the_last_24_hours_by_type_organisation_and_outcome(client: Client) -> None:
    transactions(3, organisation="hospa")
    transactions(1, outcome=8, organisation="hospb")
    transactions(5, hours_ago=30)  # yesterday's are not today's
    operator = signed_in(client, OPERATOR)  # signing in is audited too: a User Authentication

    traffic = dashboard(operator).traffic
    page = operator.get(INDEX).content.decode()

    assert traffic is not None
    assert (traffic.total, traffic.failed) == (5, 1)
    assert traffic.error_rate == pytest.approx(20.0) and traffic.state == RED
    assert {(bar.label, bar.count, bar.failed) for bar in traffic.by_type} == {
        ("ITI-18", 4, 1), ("User Authentication", 1, 0)}
    assert ("hospa", 3, 0) in {(bar.label, bar.count, bar.failed) for bar in traffic.by_organisation}
    assert {(bar.label, bar.count) for bar in traffic.by_outcome} == {("success", 4), ("serious failure", 1)}
    assert sum(bar.count for bar in traffic.hourly) == 5 and len(traffic.hourly) == 24
    assert "ITI-18" in page and "serious failure" in page and "20.0%" in page
    assert "Needs attention" in page and "20.0% of the last 24 h" in page
    tiles = page.split('id="content-main"')[1].split('class="console-apps"')[0]
    assert "<svg" in tiles and "<script" not in tiles  # drawn on the server, no script


def test_prefetch_jobs_link_to_the_jobs_list_filtered_by_their_status(client: Client) -> None:
    prefetch_jobs(2, PrefetchJob.QUEUED)
    prefetch_jobs(1, PrefetchJob.RUNNING)
    prefetch_jobs(3, PrefetchJob.FAILED)
    prefetch_jobs(4, PrefetchJob.DONE)
    operator = signed_in(client, OPERATOR)

    jobs = dashboard(operator).jobs
    page = operator.get(INDEX).content.decode()

    assert jobs is not None
    assert (jobs.queued.n, jobs.running.n, jobs.failed.n, jobs.failed_recently.n) == (2, 1, 3, 3)
    assert jobs.state == "amber"
    for status in ("queued", "running", "failed"):
        assert f'href="/admin/imaging/prefetchjob/?status__exact={status}"' in page
    assert "3 prefetch job(s) failed in 24 h" in page


def test_the_review_backlog_links_to_the_review_queue(client: Client) -> None:
    open_reviews(2)
    decided = ReviewItem.objects.order_by("pk").first()
    assert decided is not None
    decided.status = ReviewItem.ACCEPTED
    decided.save()
    operator = signed_in(client, OPERATOR)

    reviews = dashboard(operator).reviews
    page = operator.get(INDEX).content.decode()

    assert reviews is not None and reviews.open.n == 1
    assert 'href="/admin/empi/reviewitem/?status=open"' in page


def test_with_everything_well_the_page_says_healthy(client: Client) -> None:
    heartbeat(seconds_ago=5)
    transactions(3)
    operator = signed_in(client, OPERATOR)

    figures = dashboard(operator)
    page = operator.get(INDEX).content.decode()

    assert figures.problems == [] and figures.state == "green"
    assert "Healthy." in page
    assert figures.queue is not None and figures.queue.depth == 0
    assert figures.storage is not None and "60.0\xa0GB" in page
    assert page.index('id="tile-storage"') < page.index('class="app-audit module')  # the app list below


def test_a_stale_heartbeat_shows_red(client: Client) -> None:
    heartbeat(seconds_ago=600)
    operator = signed_in(client, OPERATOR)

    worker = dashboard(operator).worker
    page = operator.get(INDEX).content.decode()

    assert worker is not None and worker.state == RED
    assert 'class="tile state-red" id="tile-worker"' in page
    assert "worker heartbeat stale: the last was 10 min ago" in page


def test_a_worker_that_never_beat_shows_red(client: Client) -> None:
    operator = signed_in(client, OPERATOR)
    worker = dashboard(operator).worker
    assert worker is not None and worker.state == RED and worker.age == "never"
    assert worker.problem == "no worker heartbeat yet"


def test_the_queue_tile_shows_the_brokers_depth(client: Client) -> None:
    name = celery_app.conf.task_default_queue
    with celery_app.connection_for_write() as conn:
        queue = conn.SimpleQueue(name)
        try:
            for n in range(3):
                queue.put({"n": n})
            operator = signed_in(client, OPERATOR)
            depth = dashboard(operator).queue
        finally:
            queue.clear()
            queue.close()
    assert depth is not None and depth.depth == 3


def test_a_broker_that_does_not_answer_shows_unknown(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app.conf, "broker_read_url", "redis://127.0.0.1:1/0")
    operator = signed_in(client, OPERATOR)

    queue = dashboard(operator).queue
    page = operator.get(INDEX).content.decode()

    assert queue is not None and queue.depth is None and queue.state == RED
    assert "unknown" in page and "the task broker does not answer" in page


@override_settings(AUDIT_SYSLOG_URL="tls://audit.example.org:6514")
def test_audit_forwarding_shows_the_unsent_count_and_the_age_of_the_oldest(client: Client) -> None:
    transactions(2)
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    operator = signed_in(client, OPERATOR)

    forwarding = dashboard(operator).forwarding

    assert forwarding is not None and forwarding.configured
    assert forwarding.unsent.n == 3  # and the operator's own sign-in
    assert 290 < forwarding.lag_seconds < 400 and forwarding.state == "amber"

    cache.clear()
    AuditChain.objects.create(pk=1, failing_since=timezone.now(), last_error="connection refused")
    page = operator.get(INDEX).content.decode()
    assert "audit forwarding failing: connection refused" in page


def test_without_an_audit_repository_the_local_table_is_the_repository(client: Client) -> None:
    operator = signed_in(client, OPERATOR)
    forwarding = dashboard(operator).forwarding
    assert forwarding is not None and not forwarding.configured and forwarding.state == "green"


def test_a_data_steward_sees_the_review_backlog_but_no_transaction_or_audit_figures(client: Client) -> None:
    transactions(2, outcome=4)
    open_reviews(1)
    steward = signed_in(client, DATA_STEWARD)

    figures = dashboard(steward)
    page = steward.get(INDEX).content.decode()

    assert figures.reviews is not None and figures.reviews.open.n == 1
    assert figures.traffic is None and figures.forwarding is None and figures.jobs is None
    assert figures.worker is not None  # the node's own tiles: for every role of the console
    assert 'id="tile-reviews"' in page
    assert 'id="tile-traffic"' not in page and 'id="tile-forwarding"' not in page
    assert "ITI-18" not in page and "Error rate" not in page


def test_an_auditor_sees_the_audit_figures_but_not_the_review_backlog(client: Client) -> None:
    transactions(2)
    open_reviews(1)
    prefetch_jobs(1, PrefetchJob.FAILED)
    auditor = signed_in(client, AUDITOR)

    figures = dashboard(auditor)
    page = auditor.get(INDEX).content.decode()

    assert figures.traffic is not None and figures.forwarding is not None
    assert figures.reviews is None and figures.jobs is None
    assert 'id="tile-traffic"' in page and "Error rate" in page
    assert 'id="tile-reviews"' not in page and "/admin/empi/reviewitem/" not in page
    assert 'id="tile-jobs"' not in page


def test_the_figures_are_read_once_per_half_minute(client: Client) -> None:
    operator = signed_in(client, OPERATOR)
    transactions(2)
    first = dashboard(operator).traffic
    transactions(5)
    again = dashboard(operator).traffic
    assert first is not None and again is not None and again.total == first.total


def test_the_page_query_count_does_not_grow_with_rows(client: Client) -> None:
    operator = signed_in(client, OPERATOR)

    def add_rows(n: int) -> None:
        transactions(n, organisation=f"hosp-{n}")
        transactions(n, outcome=4, organisation="hospb")
        prefetch_jobs(n, PrefetchJob.FAILED)
        open_reviews(n)
        cache.clear()  # measure the reads, not the cache

    assert_no_query_per_row(operator, INDEX, add_rows)
