"""The data steward's console: Jane Doe's page with her records from hospitals A and B side by
side, her identifiers, documents and studies; the review queue worked with its three buttons; a
merge confirmed with what it changes, then undone; the auditor kept out. Pages answer in a number
of queries that does not grow with their rows."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from audit.models import AuditEvent
from empi import services, stewardship
from empi.models import NotSamePerson, PatientRecord, Person, ReviewItem
from imaging.models import DicomNode, ManifestSeries, ManifestStudy
from organisations.models import Organisation
from organisations.roles import AUDITOR, DATA_STEWARD
from registry.models import APPROVED, CodeValue, DocumentEntry, PatientIdentity
from tests.console import assert_no_query_per_row, signed_in
from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4, Domain
from tests.empi.test_admin_review_queue import JANE_AT_A, JANE_AT_B, feed, review_everything

pytestmark = pytest.mark.django_db

WALDO = JANE_AT_A.__class__(given="WALDO", family="SMITHERS", birth_date="19511120", sex="M")
RADIOLOGY_REPORT = ("18748-4", "2.16.840.1.113883.6.1")
AFFINITY_OID = AFFINITY_CX4.split("&")[1]
_serial = itertools.count(1)


def a_document(patient_id: str, *, title: str = "CT chest report",
               created: str = "20240102") -> DocumentEntry:
    n = next(_serial)
    return DocumentEntry.objects.create(
        entry_uuid=f"urn:uuid:00000000-0000-0000-0000-{n:012d}", logical_id=f"lid-{n}", status=APPROVED,
        ebrim="<ExtrinsicObject/>", unique_id=f"1.2.3.{n}", patient_id=patient_id,
        source_patient_id=f"A123^^^&{HOSPITAL_A_CX4.split('&')[1]}&ISO", class_code=RADIOLOGY_REPORT[0],
        class_scheme=RADIOLOGY_REPORT[1], creation_time=created, title=title, mime_type="application/pdf")


def a_study(patient_id: str, *, ae_title: str = "HOSPA_PACS") -> ManifestStudy:
    n = next(_serial)
    study = ManifestStudy.objects.create(
        document_entry_uuid=f"urn:uuid:{n}", document_unique_id=f"1.2.4.{n}", repository_unique_id="1.2.5",
        patient_id=patient_id, study_instance_uid=f"1.2.6.{n}", accession_number=f"ACC{n:04d}",
        study_date="20240102", study_description="CT CHEST", modalities="CT")
    ManifestSeries.objects.create(study=study, series_instance_uid=f"1.2.7.{n}", modality="CT",
                                  retrieve_ae_title=ae_title)
    return study


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    # The demo's users and the signed-in steward are made here; hashing their passwords with the
    # production work factor would take most of each test's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def patient_record_audits(actor: str) -> int:
    return sum(actor in json.dumps(e.record) for e in AuditEvent.objects.filter(event_id="110110"))


@pytest.fixture
def jane(domain: Domain) -> Person:
    """Jane Doe, fed by hospitals A and B (linked on the feed), with a document and a study."""
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    person = feed(domain, "hospital_b", "B777", JANE_AT_B).person
    CodeValue.objects.get_or_create(kind="classCode", code=RADIOLOGY_REPORT[0], scheme=RADIOLOGY_REPORT[1],
                                    defaults={"display_name": "Radiology report"})
    DicomNode.objects.create(organisation=Organisation.objects.get(code="hospa"), ae_title="HOSPA_PACS",
                             host="127.0.0.1", port=11112)
    a_document(person.enterprise_id)
    a_study(person.enterprise_id)
    return person


def test_a_persons_page_shows_the_sites_records_side_by_side_with_identifiers_documents_and_studies(
        client: Client, jane: Person) -> None:
    steward = signed_in(client, DATA_STEWARD)

    page = steward.get(f"/admin/empi/person/{jane.pk}/change/").content.decode()

    # One column per site's record, the given names differing (JANE, JAEN) highlighted.
    assert "A123" in page and "B777" in page
    assert 'class="differs"' in page and "JAEN" in page
    assert escape(jane.enterprise_id) in page and "Hospital A" in page and "Hospital B" in page
    assert "matched on feed" in page  # the link history
    assert "CT chest report" in page and "Radiology report" in page
    assert "CT CHEST" in page and "Hospital A (HOSPA_PACS)" in page


def test_a_merged_persons_documents_show_on_the_survivors_page(client: Client, jane: Person,
                                                                domain: Domain) -> None:
    waldo = feed(domain, "hospital_b", "B900", WALDO).person
    a_document(waldo.enterprise_id, title="Waldo's old MRI report")
    stewardship.persons_merge(survivor=jane, subsumed=waldo, actor="the steward")
    steward = signed_in(client, DATA_STEWARD)

    page = steward.get(f"/admin/empi/person/{jane.pk}/change/").content.decode()

    assert "Waldo&#x27;s old MRI report" in page and "enterprise ID merged into this one" in page


def test_the_persons_list_is_searched_by_enterprise_id_and_by_mrn(client: Client, jane: Person,
                                                                  domain: Domain) -> None:
    waldo = feed(domain, "hospital_b", "B900", WALDO).person
    steward = signed_in(client, DATA_STEWARD)
    number = waldo.enterprise_id.split("^")[0]

    by_mrn = steward.get("/admin/empi/person/?q=A123").content.decode()
    by_id = steward.get(f"/admin/empi/person/?q={number}").content.decode()

    assert escape(jane.enterprise_id) in by_mrn and escape(waldo.enterprise_id) not in by_mrn
    assert escape(waldo.enterprise_id) in by_id and escape(jane.enterprise_id) not in by_id
    assert "DOE, JAEN" in by_mrn  # the name the latest feed (hospital B's) gave


@pytest.fixture
def queue(domain: Domain) -> list[ReviewItem]:
    """Two open items: two of hospital B's records, each against Jane at hospital A."""
    with review_everything:
        feed(domain, "hospital_a", "A123", JANE_AT_A)
        first = feed(domain, "hospital_b", "B777", JANE_AT_B).review
        second = feed(domain, "hospital_b", "B778", JANE_AT_A.__class__(
            given="JANE", family="DOE", birth_date="19800102", sex="F")).review
    assert first is not None and second is not None
    return sorted([first, second], key=lambda item: (-item.score, item.pk))


def test_a_review_page_marks_the_fields_that_agree_and_disagree_with_their_weights_and_keys(
        client: Client, queue: list[ReviewItem]) -> None:
    top = queue[0]
    steward = signed_in(client, DATA_STEWARD)

    page = steward.get(f"/admin/empi/reviewitem/{top.pk}/change/").content.decode()

    assert 'class="agrees"' in page and f"{top.weights['family']:+.2f}" in page
    assert f"{top.score:.2f}" in page
    for label, key in (("Same person: link", "a"), ("Not the same person", "n"),
                       ("Reject: leave as is", "d")):
        assert label in page and f"<kbd>{key}</kbd>" in page
    assert f"/admin/empi/reviewitem/{queue[1].pk}/change/" in page  # j: the next open item


def test_the_three_decisions_change_the_empi_are_audited_and_land_on_the_next_item(
        client: Client, queue: list[ReviewItem], domain: Domain) -> None:
    steward = signed_in(client, DATA_STEWARD, username="the steward")
    first, second = queue

    dismissed = steward.post(f"/admin/empi/reviewitem/{first.pk}/dismiss/")
    assert dismissed.status_code == 302
    assert dismissed["Location"] == f"/admin/empi/reviewitem/{second.pk}/change/"
    first.refresh_from_db()
    assert first.status == ReviewItem.DISMISSED and not NotSamePerson.objects.exists()
    assert first.record.person != first.candidate

    rejected = steward.post(f"/admin/empi/reviewitem/{second.pk}/reject/")
    assert rejected["Location"] == "/admin/empi/reviewitem/"  # the queue is empty
    assert NotSamePerson.objects.count() == 1

    with review_everything:
        again = feed(domain, "hospital_b", "B779", JANE_AT_B).review
    assert again is not None
    accepted = steward.post(f"/admin/empi/reviewitem/{again.pk}/accept/")
    assert accepted.status_code == 302
    again.refresh_from_db()
    assert again.status == ReviewItem.ACCEPTED and again.record.person == again.candidate
    assert patient_record_audits("the steward") == 3


def test_a_merge_confirmation_says_which_records_move_and_which_id_is_retired_then_unmerge_restores(
        client: Client, jane: Person, domain: Domain) -> None:
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    a_document(waldo.person.enterprise_id)
    a_document(waldo.person.enterprise_id)
    steward = signed_in(client, DATA_STEWARD, username="the steward")

    asked = steward.get("/admin/empi/person/merge/", {"survivor": jane.enterprise_id,
                                                      "subsumed": waldo.person.enterprise_id})
    page = asked.content.decode()
    assert asked.status_code == 200
    assert escape(waldo.record.cx) in page and "SMITHERS, WALDO" in page
    assert f"The enterprise ID <strong>{escape(waldo.person.enterprise_id)}</strong> is retired" in page
    assert "the 2 document(s) registered under it" in page
    assert PatientRecord.objects.get(pk=waldo.record.pk).person == waldo.person  # nothing done yet

    done = steward.post("/admin/empi/person/merge/", {
        "persons": [jane.pk, waldo.person.pk], "survivor": jane.pk, "post": "yes"})
    assert done["Location"] == f"/admin/empi/person/{jane.pk}/change/"
    assert PatientRecord.objects.get(pk=waldo.record.pk).person == jane
    assert PatientIdentity.objects.get(patient_id=waldo.person.enterprise_id).merged_into is not None

    unmerge_url = f"/admin/empi/person/{waldo.person.pk}/unmerge/"
    assert unmerge_url in steward.get(f"/admin/empi/person/{waldo.person.pk}/change/").content.decode()
    question = steward.get(unmerge_url).content.decode()
    assert escape(waldo.record.cx) in question and "go back to it" in question
    steward.post(unmerge_url, {"post": "yes"})

    assert PatientRecord.objects.get(pk=waldo.record.pk).person == waldo.person
    assert Person.objects.get(pk=waldo.person.pk).merged_into is None
    assert PatientIdentity.objects.get(patient_id=waldo.person.enterprise_id).merged_into is None


def test_the_auditor_cannot_see_persons_or_merge_them(client: Client, jane: Person, domain: Domain) -> None:
    waldo = feed(domain, "hospital_b", "B900", WALDO).person
    auditor = signed_in(client, AUDITOR)

    for url in ("/admin/empi/person/", f"/admin/empi/person/{jane.pk}/change/", "/admin/empi/reviewitem/",
                "/admin/empi/person/merge/"):
        assert auditor.get(url).status_code == 403, url
    refused = [
        auditor.post("/admin/empi/person/merge/", {"persons": [jane.pk, waldo.pk], "survivor": jane.pk,
                                                   "post": "yes"}),
        auditor.post("/admin/empi/person/", {"action": "merge_persons", "post": "yes", "survivor": jane.pk,
                                             "_selected_action": [jane.pk, waldo.pk]}),
    ]

    assert [r.status_code for r in refused] == [403, 403]
    assert Person.objects.get(pk=waldo.pk).merged_into is None


def test_the_steward_merges_from_the_list_after_the_confirmation(client: Client, jane: Person,
                                                                 domain: Domain) -> None:
    waldo = feed(domain, "hospital_b", "B900", WALDO).person
    steward = signed_in(client, DATA_STEWARD)
    selected = {"action": "merge_persons", "_selected_action": [jane.pk, waldo.pk]}

    asked = steward.post("/admin/empi/person/", selected)
    steward.post("/admin/empi/person/", {**selected, "post": "yes", "survivor": jane.pk})

    assert "Which person survives?" in asked.content.decode()
    assert Person.objects.get(pk=waldo.pk).merged_into == jane


# --- Query counts: flat with the rows.

def test_the_persons_list_and_a_persons_page_take_the_same_queries_for_3_or_30_rows(
        client: Client, jane: Person, domain: Domain) -> None:
    steward = signed_in(client, DATA_STEWARD)
    counter = itertools.count(1000)

    def more_persons(n: int) -> None:
        for _ in range(n):
            feed(domain, "hospital_a", f"A{next(counter)}", WALDO.__class__(given=f"P{next(counter)}"))

    def more_for_jane(n: int) -> None:
        for _ in range(n):
            a_document(jane.enterprise_id)
            a_study(jane.enterprise_id, ae_title=f"PACS{next(counter)}")

    assert_no_query_per_row(client, "/admin/empi/person/", more_persons)
    assert_no_query_per_row(steward, f"/admin/empi/person/{jane.pk}/change/", more_for_jane)


def test_the_review_list_and_an_items_page_take_the_same_queries_for_3_or_30_rows(
        client: Client, domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).record
    steward = signed_in(client, DATA_STEWARD)
    counter = itertools.count(1)
    items: list[ReviewItem] = []

    def more_items(n: int) -> None:
        # Written straight, as the matcher would: scoring 30 feeds is not what is measured here.
        for _ in range(n):
            number = next(counter)
            person = Person.objects.create(enterprise_id=f"E{number}^^^&{AFFINITY_OID}&ISO")
            record = PatientRecord.objects.create(authority=domain.hospital_b, identifier=f"B{number}",
                                                  person=person, given="JAEN", family="DOE")
            items.append(ReviewItem.objects.create(record=record, candidate=jane.person,
                                                   candidate_record=jane, score=10.0 - number / 100,
                                                   weights={"given": 1.5, "family": 3.0}))

    assert_no_query_per_row(steward, "/admin/empi/reviewitem/", more_items)
    assert_no_query_per_row(steward, f"/admin/empi/reviewitem/{items[0].pk}/change/", more_items)


def test_dismiss_is_a_service_that_closes_the_item_and_remembers_nothing(domain: Domain) -> None:
    with review_everything:
        feed(domain, "hospital_a", "A123", JANE_AT_A)
        item = feed(domain, "hospital_b", "B777", JANE_AT_B).review
    assert item is not None

    services.review_dismiss(item=item, actor="the steward")

    item.refresh_from_db()
    assert item.status == ReviewItem.DISMISSED and item.decided_by == "the steward"
    assert not NotSamePerson.objects.exists() and patient_record_audits("the steward") == 1


def test_a_persons_page_caps_its_documents_and_studies_with_a_link_to_the_rest(
        client: Client, jane: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("empi.admin_persons.PAGE_CAP", 1)
    a_document(jane.enterprise_id, title="An older report", created="20200101")
    a_study(jane.enterprise_id)
    steward = signed_in(client, DATA_STEWARD)

    page = steward.get(f"/admin/empi/person/{jane.pk}/change/").content.decode()
    more = steward.get("/admin/registry/documententry/", {"patient_id__in": jane.enterprise_id})

    assert "More documents of this person" in page and "More studies of this person" in page
    assert "An older report" not in page
    assert more.status_code == 200 and "1.2.3." in more.content.decode()
