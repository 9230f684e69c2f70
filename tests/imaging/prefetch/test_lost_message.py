"""A prefetch job whose task message never reached the broker (sent to a broker that lost it, or
down when the job committed) is found untouched by the node's `beat` and sent again: the real
worker then moves the study from hospital A's Orthanc to hospital B's, once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from imaging.prefetch import services
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from tests.imaging.prefetch.conftest import Exchange, Pacs, a_job, a_study, held, upload
from tests.servers.node import Node

RESEND_SECONDS = 3


@pytest.fixture
def resending_node(node_of_its_own: Callable[..., Node]) -> Node:
    return node_of_its_own("resending-node", broker_database=3,
                           PREFETCH_RESEND_SECONDS=str(RESEND_SECONDS))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_message_was_lost_is_sent_again_and_completes_once(
        resending_node: Node, pacs: Pacs, exchange: Exchange) -> None:
    study = a_study(3)
    upload(pacs.a, study)
    uid = str(study[0].StudyInstanceUID)
    # The job commits; its message goes to this test process's own in-memory broker, which no
    # worker reads: lost, as with a broker that crashed without persistence.
    job = a_job(exchange, study)

    resending_node.start("worker", "beat")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not PrefetchJob.objects.filter(
            pk=job.pk, status__in=PrefetchJob.FINISHED).exists():
        time.sleep(0.2)

    job.refresh_from_db()
    log = resending_node.processes["worker"].output()[-3000:]
    assert (job.status, job.attempts) == (PrefetchJob.DONE, 1), log
    assert len(held(pacs.b, uid)) == 3
    transfers = [e for e in AuditEvent.objects.filter(event_id="110104") if uid in json.dumps(e.record)]
    assert [e.outcome for e in transfers] == [0]


@pytest.mark.django_db
def test_only_unfinished_jobs_untouched_for_the_whole_time_are_sent_again(
        exchange: Exchange, django_capture_on_commit_callbacks: Any) -> None:
    old = timezone.now() - timedelta(hours=1)
    lost, finished, moving, fresh = (a_job(exchange, a_study(1)) for _ in range(4))
    PrefetchJob.objects.filter(pk__in=[lost.pk, finished.pk, moving.pk]).update(updated_at=old)
    PrefetchJob.objects.filter(pk=finished.pk).update(status=PrefetchJob.DONE)
    # A long C-MOVE reports progress on its study, not on the job row.
    PrefetchStudy.objects.filter(job=moving).update(status=PrefetchStudy.MOVING, progress_at=timezone.now())

    with django_capture_on_commit_callbacks() as sent:
        assert services.jobs_resend_stale(older_than_seconds=900) == 1
    assert len(sent) == 1
    lost.refresh_from_db()
    assert lost.updated_at > old
    # Touched: the next sweep does not send it again before its time.
    assert services.jobs_resend_stale(older_than_seconds=900) == 0
    assert fresh.status == PrefetchJob.QUEUED
