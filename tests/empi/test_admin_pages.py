"""Every page of the steward's console opens for the operator, and none lets a row be edited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import escape

from empi import stewardship
from empi.models import LinkEvent
from organisations.roles import OPERATOR
from tests.empi.conftest import Domain
from tests.empi.test_admin_review_queue import JANE_AT_A, JANE_AT_B, feed, member_of

pytestmark = pytest.mark.django_db


def test_a_persons_page_lists_its_records_and_its_link_history(client: Client, domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    feed(domain, "hospital_b", "B777", JANE_AT_B)
    operator = member_of(client, OPERATOR)

    listing = operator.get("/admin/empi/person/").content.decode()
    page = operator.get(f"/admin/empi/person/{jane.person.pk}/change/").content.decode()

    assert escape(jane.person.enterprise_id) in listing
    assert "A123" in page and "B777" in page and "matched on feed" in page


def test_every_empi_list_and_page_opens_and_nothing_is_added_by_hand(client: Client, domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    other = feed(domain, "hospital_b", "B900", JANE_AT_A.__class__(given="OTTO", family="KLEIN"))
    stewardship.persons_merge(survivor=jane.person, subsumed=other.person, actor="the operator")
    operator = member_of(client, OPERATOR)
    event = LinkEvent.objects.latest("id")

    for url in ("/admin/empi/", "/admin/empi/person/", "/admin/empi/patientrecord/",
                "/admin/empi/linkevent/", "/admin/empi/reviewitem/?status=all",
                "/admin/empi/notsameperson/", "/admin/empi/matchparameters/",
                f"/admin/empi/linkevent/{event.pk}/change/",
                f"/admin/empi/person/{other.person.pk}/change/"):
        assert operator.get(url).status_code == 200, url
    for model in ("person", "patientrecord", "linkevent", "reviewitem"):
        assert operator.get(f"/admin/empi/{model}/add/").status_code == 403, model
