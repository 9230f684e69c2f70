"""The operator works the EMPI's review queue in the admin: the record and its candidate side by
side, "Same person: link" or "Not the same person"; the auditor sees nothing of the EMPI."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings

from audit.models import AuditEvent
from empi import services
from empi.matching.record import Demographics, demographics
from empi.models import NotSamePerson, ReviewItem
from organisations.roles import AUDITOR, OPERATOR, roles_sync
from tests.empi.conftest import Domain

pytestmark = pytest.mark.django_db

JANE_AT_A = demographics(given="Jane", family="Doe", birth_date="19800101", sex="F",
                         street="12 High Street", city="Springfield", postcode="12345")
JANE_AT_B = demographics(given="Jaen", family="Doe", birth_date="19800101", sex="F",
                         street="12 High St", city="Springfield", postcode="12345")

# Every candidate lands in the review band: nothing links on its own.
review_everything = override_settings(EMPI_LINK_THRESHOLD=1000.0, EMPI_REVIEW_THRESHOLD=0.0)


def member_of(client: Client, role: str) -> Client:
    roles_sync()
    user = User.objects.create_user(f"the {role}", password="a long demo password", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def feed(domain: Domain, authority: str, mrn: str, who: Demographics) -> services.FeedResult:
    return services.record_feed(authority=getattr(domain, authority), identifier=mrn,
                                demographics=who, raw={}, source="HOSPA_HIS|HOSPA")


def steward_audits(actor: str) -> int:
    return sum(actor in json.dumps(event.record) for event in AuditEvent.objects.filter(event_id="110110"))


@pytest.fixture
def review(domain: Domain) -> ReviewItem:
    with review_everything:
        feed(domain, "hospital_a", "A123", JANE_AT_A)
        item = feed(domain, "hospital_b", "B777", JANE_AT_B).review
    assert item is not None
    return item


def test_the_operator_sees_the_open_review_with_its_score(client: Client, review: ReviewItem) -> None:
    operator = member_of(client, OPERATOR)
    page = operator.get("/admin/empi/reviewitem/").content.decode()
    assert "B777" in page and f"{review.score:.2f}" in page


def test_a_review_page_shows_both_records_their_weights_and_the_two_buttons(
        client: Client, review: ReviewItem) -> None:
    operator = member_of(client, OPERATOR)
    page = operator.get(f"/admin/empi/reviewitem/{review.pk}/change/").content.decode()
    assert "JANE" in page and "JAEN" in page
    assert f"{review.weights['family']:+.2f}" in page
    assert "Same person: link" in page and "Not the same person" in page


def test_same_person_links_the_record_to_the_candidate_and_is_audited(
        client: Client, review: ReviewItem) -> None:
    operator = member_of(client, OPERATOR)
    response = operator.post(f"/admin/empi/reviewitem/{review.pk}/accept/")
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewItem.ACCEPTED and review.decided_by == "the operator"
    assert review.record.person == review.candidate
    assert steward_audits("the operator") == 1


@review_everything
def test_not_the_same_person_is_remembered_and_the_pair_never_comes_back(
        client: Client, domain: Domain, review: ReviewItem) -> None:
    operator = member_of(client, OPERATOR)
    response = operator.post("/admin/empi/reviewitem/", {
        "action": "reject", "_selected_action": [str(review.pk)], "index": "0"})
    assert response.status_code == 302
    assert NotSamePerson.objects.count() == 1
    assert steward_audits("the operator") == 1

    again = feed(domain, "hospital_b", "B777", JANE_AT_B)
    assert again.review is None
    assert not ReviewItem.objects.filter(status=ReviewItem.OPEN).exists()


def test_the_auditor_may_not_see_the_review_queue_or_decide(client: Client, review: ReviewItem) -> None:
    auditor = member_of(client, AUDITOR)
    for page in ("reviewitem", "person", "patientrecord", "linkevent"):
        assert auditor.get(f"/admin/empi/{page}/").status_code == 403
    assert auditor.post(f"/admin/empi/reviewitem/{review.pk}/accept/").status_code == 403
    review.refresh_from_db()
    assert review.status == ReviewItem.OPEN
