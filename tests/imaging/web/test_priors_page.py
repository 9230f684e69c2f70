"""The radiologist at hospital B finds her patient, sees the outside priors, fetches them and
watches them arrive; everything through the node's real web process, worker and two PACSs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from audit.models import AuditEvent
from imaging.prefetch.models import PrefetchJob, RelevantPriorRule
from tests.conftest import needs_node
from tests.imaging.web.conftest import (
    PASSWORD,
    Exchange,
    a_study,
    forget,
    go,
    patient_at_a_and_b,
    patient_url,
    sign_in,
    upload,
)

pytestmark = needs_node
Shot = Callable[[Any, str], Path]


def test_the_radiologist_finds_her_patient_by_mrn_and_by_name_and_sees_the_outside_priors(
        exchange: Exchange, radiologist: User, page: Any, shot: Shot) -> None:
    jane = patient_at_a_and_b(exchange)
    ct = a_study(jane.a_mrn, count=3, study_date="20240102", modality="CT", body_part="CHEST",
                 description="CT CHEST W CONTRAST")
    mr = a_study(jane.a_mrn, count=2, study_date="20230506", modality="MR", body_part="HEAD",
                 description="MR BRAIN")
    upload(exchange.pacs.a, ct)
    upload(exchange.pacs.a, mr)
    upload(exchange.pacs.b, mr)  # hospital B has the MR already

    sign_in(page, exchange.url, "rita")
    page.fill("input[name=q]", jane.b_mrn)
    go(page, "button:has-text('Search')")
    assert page.locator("#patients tbody tr").count() == 1
    assert page.locator("#patients").inner_text().count(jane.b_mrn) == 1
    shot(page, "search")

    page.fill("input[name=q]", "do*")
    go(page, "button:has-text('Search')")
    assert jane.b_mrn in page.locator("#patients").inner_text()
    assert jane.a_mrn not in page.content()  # hospital A's MRN never shows at hospital B

    go(page, f"#patients a:has-text('{jane.b_mrn}')")
    headers = page.locator("#priors-table thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers[:7]] == [
        "date", "modality", "description", "body part", "site", "instances", "size"]
    rows = page.locator("#priors-table tbody tr")
    assert rows.count() == 2
    newest, older = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    for expected in ("2024-01-02", "CT", "CT CHEST W CONTRAST", "CHEST", "Hospital A", "3"):
        assert expected in newest
    assert "already here" not in newest
    assert "MR BRAIN" in older and "already here" in older
    assert rows.nth(1).locator("button:has-text('Fetch')").count() == 0
    shot(page, "list")

    viewed = AuditEvent.objects.filter(event_id="110112", transaction="ITI-18", organisation="hospb")
    assert viewed.filter(patient_ids__contains=jane.b_mrn).exists()
    assert "rita" in str(viewed.latest("pk").record)


def test_a_fetched_study_moves_with_its_progress_shown_until_done(
        exchange: Exchange, radiologist: User, page: Any, shot: Shot) -> None:
    jane = patient_at_a_and_b(exchange)
    # Big enough that the move takes a few of the page's one-second polls.
    ct = a_study(jane.a_mrn, count=30, study_date="20240102", modality="CT", body_part="CHEST",
                 description="CT CHEST", megabytes=3)
    upload(exchange.pacs.a, ct)
    sign_in(page, exchange.url, "rita")
    page.goto(patient_url(exchange, exchange.b_mrns, jane.b_mrn))

    go(page, "#priors-table button:has-text('Fetch')")
    assert "Fetching 1 study" in page.locator(".message.success").inner_text()
    first_row = page.locator("#priors-table tbody tr").first
    assert "fetching" in first_row.inner_text() and not first_row.locator("button").is_visible()
    bar = page.locator("#progress [role=progressbar]").first
    seen, deadline = [], time.monotonic() + 90
    while time.monotonic() < deadline:
        seen.append(int(bar.get_attribute("aria-valuenow") or 0))
        if 0 < seen[-1] < 100 and not any(0 < s < 100 for s in seen[:-1]):
            shot(page, "progress")
        if page.locator("#progress [data-status]").first.inner_text().lower() == "done":
            break
        time.sleep(0.1)
    seen.append(int(bar.get_attribute("aria-valuenow") or 0))  # as it stands once done
    if not any(0 < s < 100 for s in seen):
        shot(page, "progress")  # the move was quicker than a poll: the bar jumped straight to full
    status = page.locator("#progress [data-status]").first.inner_text().lower()
    assert status == "done", f"the study ended {status}; bars seen: {seen}"
    assert seen[-1] == 100 and seen == sorted(seen), seen  # the bar only ever grows
    assert "30 / 30 instances" in page.locator("#progress [data-count]").first.inner_text()
    page.wait_for_selector("#progress [data-job-status]:has-text('done')")
    assert "already here" in first_row.inner_text()  # without reloading the page
    shot(page, "done")

    page.reload()
    assert "already here" in page.locator("#priors-table tbody tr").first.inner_text()
    go(page, "nav a:has-text('History')")
    history = page.locator("#history").inner_text()
    shot(page, "history")
    assert jane.b_mrn in history and "CT CHEST" in history and "rita" in history


def test_a_move_the_source_refuses_shows_a_readable_error(
        exchange: Exchange, radiologist: User, page: Any, shot: Shot) -> None:
    # Hospital B's PACS was renamed at the exchange but not at hospital A's PACS: A refuses to
    # move to an AE title it does not know (PS3.4 C.4.2.1.5, A801).
    exchange.b_pacs.ae_title = "HOSPB_ARCHIVE"
    exchange.b_pacs.save()
    jane = patient_at_a_and_b(exchange)
    ct = a_study(jane.a_mrn, count=2, study_date="20220304", modality="CT", body_part="ABDOMEN",
                 description="CT ABDOMEN")
    upload(exchange.pacs.a, ct)
    sign_in(page, exchange.url, "rita")
    page.goto(patient_url(exchange, exchange.b_mrns, jane.b_mrn))

    go(page, "#priors-table button:has-text('Fetch')")
    page.wait_for_selector("#progress [data-status]:has-text('failed')", timeout=90_000)
    error = page.locator("#progress [data-error]").first
    assert error.is_visible()
    assert "the source does not know the destination AE" in error.inner_text()
    assert "HOSPA_PACS to HOSPB_ARCHIVE" in error.inner_text()
    page.wait_for_selector("#priors-table button:has-text('Fetch')")  # it may be asked for again
    shot(page, "error")


def test_nothing_is_fetched_once_the_site_no_longer_holds_the_study(
        exchange: Exchange, radiologist: User, page: Any) -> None:
    jane = patient_at_a_and_b(exchange)
    ct = a_study(jane.a_mrn, count=2, study_date="20220304", modality="CT", body_part="ABDOMEN",
                 description="CT ABDOMEN")
    upload(exchange.pacs.a, ct)
    sign_in(page, exchange.url, "rita")
    page.goto(patient_url(exchange, exchange.b_mrns, jane.b_mrn))
    forget(exchange.pacs.a, ct)  # gone from hospital A's PACS between the list and the click

    go(page, "#priors-table button:has-text('Fetch')")
    assert "Nothing to fetch" in page.locator(".message.error").inner_text()
    assert "Nothing fetched for this patient yet" in page.locator("#progress").inner_text()


def test_another_organisations_mrn_is_not_found(
        exchange: Exchange, radiologist: User, page: Any, shot: Shot) -> None:
    jane = patient_at_a_and_b(exchange)
    sign_in(page, exchange.url, "rita")
    page.fill("input[name=q]", jane.a_mrn)
    go(page, "button:has-text('Search')")
    assert "No patient of Hospital B matches" in page.locator("#no-patients").inner_text()
    shot(page, "not-found")
    at_a = patient_url(exchange, exchange.a_mrns, jane.a_mrn)
    assert page.goto(at_a).status == 404
    assert page.goto(at_a + "progress").status == 404


def test_a_user_of_no_organisation_is_forbidden(exchange: Exchange, page: Any, shot: Shot) -> None:
    User.objects.create_user("visitor", password=PASSWORD)
    answer = page.goto(f"{exchange.url}/priors/history/")
    assert "/priors/login/" in page.url, "the pages ask to sign in first"
    sign_in(page, exchange.url, "visitor")
    answer = page.goto(f"{exchange.url}/priors/")
    assert answer.status == 403
    assert "Not available to you" in page.content()
    shot(page, "forbidden")


@pytest.mark.parametrize("path", ["/priors/", "/priors/history/"])
def test_the_pages_ask_to_sign_in_first(exchange: Exchange, page: Any, path: str) -> None:
    page.goto(f"{exchange.url}{path}")
    assert "/priors/login/" in page.url


def test_fetch_all_relevant_brings_what_hospital_bs_rules_select(
        exchange: Exchange, radiologist: User, page: Any) -> None:
    RelevantPriorRule.objects.create(name="CT priors", ordering_organisation=exchange.hospital_b,
                                     prior_modalities="CT", lookback_days=20 * 365, max_priors=1)
    jane = patient_at_a_and_b(exchange)
    newer_ct = a_study(jane.a_mrn, count=1, study_date="20240102", modality="CT", body_part="CHEST",
                       description="CT CHEST")
    older_ct = a_study(jane.a_mrn, count=1, study_date="20200102", modality="CT", body_part="CHEST",
                       description="CT CHEST OLD")
    mr = a_study(jane.a_mrn, count=1, study_date="20230506", modality="MR", body_part="HEAD",
                 description="MR BRAIN")
    for study in (newer_ct, older_ct, mr):
        upload(exchange.pacs.a, study)
    sign_in(page, exchange.url, "rita")
    page.goto(patient_url(exchange, exchange.b_mrns, jane.b_mrn))
    relevant = page.locator("#priors-table tbody tr:has(.badge.relevant)")
    assert relevant.count() == 1 and "CT CHEST" in relevant.inner_text()

    go(page, "button:has-text('Fetch all relevant')")
    job = PrefetchJob.objects.get(patient_identifier=jane.b_mrn)
    assert job.trigger == PrefetchJob.RADIOLOGIST and job.requested_by == "rita"
    assert [s.study_instance_uid for s in job.studies.all()] == [str(newer_ct[0].StudyInstanceUID)]
