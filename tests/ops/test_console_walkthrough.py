"""The operator's day in the console, in headless Chromium against the node's real web process:
sign in, read the dashboard, add an organisation and its PACS as a DICOM node, C-ECHO it (a real
Orthanc answers), resolve two review-queue items from the keyboard and the buttons, merge two
persons and unmerge them, and find a patient's access history.

Each screen is saved as a PNG in SCREENSHOT_DIR (the test's tmp_path without it); a failing step
saves the page as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from empi import services
from empi.matching.record import Demographics, demographics
from empi.models import Person, ReviewItem
from organisations.models import AssigningAuthority
from organisations.services import demo_bootstrap
from tests.browser import go, shooter
from tests.conftest import needs_node
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer

pytestmark = needs_node

PASSWORD = "the operator's long password"
AFFINITY_CX4 = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"


def person_of(given: str, family: str, birth_date: str, street: str) -> Demographics:
    return demographics(given=given, family=family, birth_date=birth_date, sex="F", street=street,
                        city="Springfield", postcode="12345")


def feed(authority: AssigningAuthority, mrn: str, who: Demographics) -> services.FeedResult:
    return services.record_feed(authority=authority, identifier=mrn, demographics=who, raw={},
                                source="HOSP_ADT|HOSP")


@pytest.fixture
def shot(screenshots: Path) -> Callable[[Any, str], Path]:
    return shooter(screenshots, "console")


def test_the_operator_runs_the_exchange_from_the_console(
        node: Node, orthanc: OrthancServer, page: Any, shot: Callable[[Any, str], Path]) -> None:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="olivia",
                   operator_password=PASSWORD)
    a = AssigningAuthority.objects.get(universal_id="1.3.6.1.4.1.21367.13.20.1000")
    b = AssigningAuthority.objects.get(universal_id="1.3.6.1.4.1.21367.13.20.2000")
    # Two women each known at both hospitals with a typo: every candidate waits for review.
    with override_settings(EMPI_LINK_THRESHOLD=1000.0, EMPI_REVIEW_THRESHOLD=0.0):
        feed(a, "A100", person_of("Jane", "Doe", "19800101", "12 High Street"))
        first = feed(b, "B100", person_of("Jaen", "Doe", "19800101", "40 Oak Avenue")).review
        feed(a, "A200", person_of("Mary", "Major", "19650505", "3 Low Road"))
        second = feed(b, "B200", person_of("Mary", "Majer", "19650505", "77 Hill Lane")).review
    assert first is not None and second is not None
    node.start("web")
    url = node.url

    # Sign in: the dashboard is the front page.
    page.goto(f"{url}/admin/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", PASSWORD)
    go(page, "input[type=submit]")
    assert page.locator("#dashboard").is_visible()
    assert "review" in page.locator("#dashboard").inner_text().lower()
    shot(page, "dashboard")

    # A new hospital joins: its organisation with its assigning authority.
    page.goto(f"{url}/admin/organisations/organisation/add/")
    page.fill("#id_name", "Hospital C")
    page.fill("#id_code", "hospc")
    page.click("#assigning_authorities-group .add-row a")
    page.fill("#id_assigning_authorities-0-namespace_id", "HOSPC")
    page.fill("#id_assigning_authorities-0-universal_id", "1.3.6.1.4.1.21367.13.20.3000")
    shot(page, "organisation-add")
    go(page, "input[name=_save]")
    assert "was added successfully" in page.inner_text(".messagelist")

    # Its PACS (a real Orthanc), saved and tested with C-ECHO from the node's page.
    page.goto(f"{url}/admin/imaging/dicomnode/add/")
    page.select_option("#id_organisation", label="Hospital C")
    page.fill("#id_ae_title", "HOSPA_PACS")
    page.fill("#id_host", "127.0.0.1")
    page.fill("#id_port", str(orthanc.dicom_port))
    go(page, "input[name=_save]")
    go(page, "#result_list a:has-text('HOSPA_PACS')")
    go(page, "input[name=_echo]")
    assert "answered C-ECHO: success" in page.inner_text(".messagelist")
    shot(page, "dicom-node-echo")

    # The organisation's page lists the node; its C-ECHO button answers inline.
    page.goto(f"{url}/admin/organisations/organisation/")
    go(page, "#result_list a:has-text('Hospital C')")
    page.click("button.echo")
    page.wait_for_selector(".echo-answer:has-text('success')")
    shot(page, "organisation-echo")

    # The review queue: the first item decided from the keyboard, the second with its button.
    page.goto(f"{url}/admin/empi/reviewitem/")
    assert page.locator("#result_list tbody tr").count() == 2
    shot(page, "review-queue")
    go(page, "#result_list tbody tr:first-child th a")
    assert page.locator("tr.agrees").count() and page.locator("tr.disagrees").count()
    shot(page, "review-item")
    with page.expect_navigation():
        page.keyboard.press("a")
    go(page, "button:has-text('Not the same person')")
    assert ReviewItem.objects.filter(status=ReviewItem.OPEN).count() == 0
    assert {item.status for item in ReviewItem.objects.all()} == {ReviewItem.ACCEPTED,
                                                                 ReviewItem.REJECTED}

    # The two Marys are one woman after all: merge the persons, then take it back.
    marys = list(Person.objects.filter(records__identifier__in=["A200", "B200"]).distinct())
    assert len(marys) == 2
    page.goto(f"{url}/admin/empi/person/")
    for person in marys:
        page.check(f"#result_list input[value='{person.pk}']")
    page.select_option("select[name=action]", "merge_persons")
    go(page, "button[name=index]")
    plan = page.inner_text("#content")
    assert "What will change" in plan and "is retired" in plan
    assert "B200" in plan or "A200" in plan  # the record that moves to the survivor
    shot(page, "merge-confirm")
    go(page, "button[name=post][value=yes]")
    assert "merged into" in page.inner_text(".messagelist")
    assert Person.objects.filter(pk__in=[p.pk for p in marys], merged_into__isnull=False).count() == 1
    merged = Person.objects.get(pk__in=[p.pk for p in marys], merged_into__isnull=False)
    page.goto(f"{url}/admin/empi/person/")
    page.check(f"#result_list input[value='{merged.pk}']")
    page.select_option("select[name=action]", "unmerge_persons")
    go(page, "button[name=index]")
    shot(page, "unmerge-confirm")
    go(page, "button[name=post][value=yes]")
    assert "unmerged" in page.inner_text(".messagelist")
    assert Person.objects.filter(pk__in=[p.pk for p in marys], merged_into__isnull=False).count() == 0

    # Who touched Mary's record at hospital B: her access history, the feed and the merges.
    page.goto(f"{url}/admin/audit/auditevent/patient/?patient=B200")
    history = page.inner_text("#content")
    assert "HOSP_ADT|HOSP" in history and "olivia" in history
    shot(page, "patient-access-history")
