"""The operator links a record to another person by hand, and unlinks it, from the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from empi.models import LinkEvent, PatientRecord, Person
from organisations.roles import OPERATOR
from tests.empi.conftest import Domain
from tests.empi.test_admin_review_queue import JANE_AT_A, JANE_AT_B, feed, member_of, steward_audits

pytestmark = pytest.mark.django_db

WALDO = JANE_AT_B.__class__(given="WALDO", family="SMITHERS", birth_date="19511120", sex="M")


def test_the_operator_links_a_record_to_the_person_named_by_its_enterprise_id(
        client: Client, domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    waldo = feed(domain, "hospital_b", "B900", WALDO).record
    operator = member_of(client, OPERATOR)
    selected = {"action": "link_to_person", "_selected_action": [str(waldo.pk)], "index": "0"}

    asked = operator.post("/admin/empi/patientrecord/", selected)
    assert asked.status_code == 200 and "enterprise ID" in asked.content.decode()
    done = operator.post("/admin/empi/patientrecord/", {
        **selected, "post": "yes", "person": jane.enterprise_id.split("^")[0]})

    assert done.status_code == 302
    assert PatientRecord.objects.get(pk=waldo.pk).person == jane
    link = LinkEvent.objects.filter(record=waldo).latest("id")
    assert link.method == LinkEvent.MANUAL and link.actor == "the operator"
    assert steward_audits("the operator") == 1


def test_the_operator_unlinks_a_record_onto_a_new_person(client: Client, domain: Domain) -> None:
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    linked = feed(domain, "hospital_b", "B777", JANE_AT_B)
    assert linked.outcome == "linked"
    operator = member_of(client, OPERATOR)

    operator.post("/admin/empi/patientrecord/", {
        "action": "unlink_from_person", "_selected_action": [str(linked.record.pk)], "index": "0"})

    record = PatientRecord.objects.get(pk=linked.record.pk)
    assert record.person != linked.person
    assert Person.objects.count() == 2
    assert steward_audits("the operator") == 1


def test_a_record_page_shows_its_current_link_with_the_weights_behind_it(
        client: Client, domain: Domain) -> None:
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    linked = feed(domain, "hospital_b", "B777", JANE_AT_B)
    operator = member_of(client, OPERATOR)

    page = operator.get(f"/admin/empi/patientrecord/{linked.record.pk}/change/").content.decode()

    assert f"score {linked.score:.2f}" in page
    assert f"{linked.weights['given']:+.2f}" in page
    assert "Save" not in page  # no row is edited as a form


def test_the_records_are_searched_by_identifier_and_authority(client: Client, domain: Domain) -> None:
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    feed(domain, "hospital_b", "B900", WALDO)
    operator = member_of(client, OPERATOR)

    by_mrn = operator.get("/admin/empi/patientrecord/?q=A123").content.decode()
    by_authority = operator.get("/admin/empi/patientrecord/?q=1.3.6.1.4.1.21367.13.20.2000").content.decode()

    assert "A123" in by_mrn and "B900" not in by_mrn
    assert "B900" in by_authority and "A123" not in by_authority
