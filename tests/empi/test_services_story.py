"""Hospital A and hospital B register the same woman: the EMPI puts both records on one person,
tells the registry her enterprise ID, and a merge moves what queries see (DESIGN.md, the story)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from audit.models import AuditEvent
from empi import selectors, services
from empi.matching.record import demographics
from empi.models import LinkEvent, NotSamePerson, PatientRecord, Person, ReviewItem
from registry.models import PatientIdentity
from tests.empi.conftest import Domain

pytestmark = pytest.mark.django_db

JANE_AT_A = demographics(given="Jane", middle="M", family="Doe", birth_date="19800101", sex="F",
                         street="12 High Street", city="Springfield", postcode="12345",
                         phone="555-0101-234")
# Hospital B mistyped her given name.
JANE_AT_B = demographics(given="Jaen", middle="M", family="Doe", birth_date="19800101", sex="F",
                         street="12 High St", city="Springfield", postcode="12345",
                         phone="555-0101-234")
WALDO = demographics(given="Waldo", family="Smithers", birth_date="19511120", sex="M",
                     postcode="99887")


def feed(domain: Domain, authority: str, mrn: str, who: object) -> services.FeedResult:
    return services.record_feed(authority=getattr(domain, authority), identifier=mrn,
                                demographics=who, raw={"PID-3": mrn},  # type: ignore[arg-type]
                                source="HOSPA_HIS|HOSPA", message_id=f"{mrn}-1")


def test_hospital_bs_record_with_a_typo_joins_hospital_as_person(domain: Domain) -> None:
    first = feed(domain, "hospital_a", "A123", JANE_AT_A)
    second = feed(domain, "hospital_b", "B777", JANE_AT_B)
    assert first.outcome == "new"
    assert second.outcome == "linked"
    assert second.person == first.person
    assert Person.objects.count() == 1
    link = LinkEvent.objects.get(record=second.record)
    assert link.method == LinkEvent.AUTOMATIC and link.score == second.score
    assert link.weights and "given" in link.weights


def test_a_new_person_gets_an_enterprise_id_in_the_affinity_domain_known_to_the_registry(
        domain: Domain) -> None:
    person = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    assert person.enterprise_id.endswith("^^^&1.3.6.1.4.1.21367.2005.3.7&ISO")
    assert PatientIdentity.objects.filter(patient_id=person.enterprise_id).exists()


def test_a_pix_lookup_by_bs_mrn_returns_as_mrn_and_the_enterprise_id(domain: Domain) -> None:
    person = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    feed(domain, "hospital_b", "B777", JANE_AT_B)
    found = selectors.cross_references(authority=domain.hospital_b, identifier="B777", domains=None)
    assert {(a.universal_id, i) for a, i in found} == {
        ("1.3.6.1.4.1.21367.13.20.1000", "A123"),
        ("1.3.6.1.4.1.21367.2005.3.7", person.enterprise_id.split("^")[0]),
    }


def test_what_domains_returned_limits_the_lookup(domain: Domain) -> None:
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    feed(domain, "hospital_b", "B777", JANE_AT_B)
    found = selectors.cross_references(authority=domain.hospital_b, identifier="B777",
                                       domains=[domain.hospital_a])
    assert [(a.pk, i) for a, i in found] == [(domain.hospital_a.pk, "A123")]


def test_someone_else_gets_a_person_of_their_own(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    assert waldo.outcome == "new" and waldo.person != jane


def test_an_update_keeps_the_records_person_and_refreshes_its_demographics(domain: Domain) -> None:
    first = feed(domain, "hospital_a", "A123", JANE_AT_A)
    moved = demographics(given="Jane", family="Doe", birth_date="19800101", sex="F", postcode="54321")
    again = feed(domain, "hospital_a", "A123", moved)
    assert again.outcome == "updated" and again.person == first.person
    assert PatientRecord.objects.get(identifier="A123").postcode == "54321"


def test_every_feed_is_audited_as_a_patient_record_event(domain: Domain) -> None:
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    events = list(AuditEvent.objects.filter(event_id="110110").order_by("id"))
    assert [e.action_code for e in events] == ["C", "U"]
    assert all("A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO" in e.patient_ids for e in events)


def test_an_affinity_domain_identifier_is_taken_as_the_persons_enterprise_id(domain: Domain) -> None:
    result = services.patient_feed(
        identifiers=[(domain.hospital_a, "A123"), (domain.affinity, "E42")],
        demographics=JANE_AT_A, raw={}, source="TESTTOOL|IHE")
    assert {r.person.enterprise_id for r in result} == {"E42^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"}
    assert PatientIdentity.objects.filter(patient_id="E42^^^&1.3.6.1.4.1.21367.2005.3.7&ISO").exists()


@override_settings(EMPI_LINK_THRESHOLD=1000.0, EMPI_REVIEW_THRESHOLD=0.0)
def test_a_candidate_in_the_review_band_opens_a_review_item(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    second = feed(domain, "hospital_b", "B777", JANE_AT_B)
    assert second.person != jane
    item = ReviewItem.objects.get(record=second.record)
    assert item.candidate == jane and item.status == ReviewItem.OPEN and item.weights


@override_settings(EMPI_LINK_THRESHOLD=1000.0, EMPI_REVIEW_THRESHOLD=0.0)
def test_accepting_a_review_links_the_record_to_the_candidate(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    item = feed(domain, "hospital_b", "B777", JANE_AT_B).review
    assert item is not None
    services.review_accept(item=item, actor="the data steward")
    assert PatientRecord.objects.get(identifier="B777").person == jane
    assert LinkEvent.objects.filter(method=LinkEvent.MANUAL, actor="the data steward").exists()


@override_settings(EMPI_LINK_THRESHOLD=1000.0, EMPI_REVIEW_THRESHOLD=0.0)
def test_a_rejected_pair_is_never_proposed_again(domain: Domain) -> None:
    feed(domain, "hospital_a", "A123", JANE_AT_A)
    item = feed(domain, "hospital_b", "B777", JANE_AT_B).review
    assert item is not None
    services.review_reject(item=item, actor="the data steward")
    assert NotSamePerson.objects.count() == 1
    again = feed(domain, "hospital_b", "B777", JANE_AT_B)  # an A08 with the same demographics
    assert again.outcome == "updated" and again.review is None
    assert not ReviewItem.objects.filter(status=ReviewItem.OPEN).exists()


@override_settings(EMPI_LINK_THRESHOLD=1000.0, EMPI_REVIEW_THRESHOLD=0.0)
def test_an_update_that_now_looks_like_another_person_opens_a_review(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    feed(domain, "hospital_b", "B777", WALDO)
    updated = feed(domain, "hospital_b", "B777", JANE_AT_B)
    assert updated.person != jane
    assert updated.review is not None and updated.review.candidate == jane


def test_a_merge_moves_every_record_and_tells_the_registry(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    waldo = feed(domain, "hospital_b", "B900", WALDO).person
    survivor = services.person_merge(
        surviving_authority=domain.hospital_a, surviving_identifier="A123",
        subsumed_authority=domain.hospital_b, subsumed_identifier="B900", source="HOSPA_HIS|HOSPA")
    assert survivor == jane
    assert PatientRecord.objects.get(identifier="B900").person == jane
    assert Person.objects.get(pk=waldo.pk).merged_into == jane
    merged = PatientIdentity.objects.get(patient_id=waldo.enterprise_id)
    assert merged.merged_into is not None and merged.merged_into.patient_id == jane.enterprise_id
    found = selectors.cross_references(authority=domain.hospital_a, identifier="A123", domains=None)
    assert (domain.hospital_b.pk, "B900") in {(a.pk, i) for a, i in found}
    assert set(AuditEvent.objects.filter(event_id="110110").values_list("action_code", flat=True)) >= {
        "C", "U", "D"}


def test_a_merge_within_one_domain_retires_the_subsumed_identifier(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    feed(domain, "hospital_a", "A999", WALDO)
    services.person_merge(surviving_authority=domain.hospital_a, surviving_identifier="A123",
                          subsumed_authority=domain.hospital_a, subsumed_identifier="A999")
    assert selectors.cross_references(authority=domain.hospital_a, identifier="A999", domains=None) == []
    assert PatientRecord.objects.get(identifier="A999").person == jane


def test_a_manual_unlink_gives_the_record_a_person_of_its_own(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A).person
    second = feed(domain, "hospital_b", "B777", JANE_AT_B)
    assert second.person == jane
    person = services.record_unlink(record=second.record, actor="the data steward")
    assert person != jane and PatientRecord.objects.get(identifier="B777").person == person
    services.record_link(record=second.record, person=jane, actor="the data steward")
    assert PatientRecord.objects.get(identifier="B777").person == jane
    assert LinkEvent.objects.filter(record=second.record).count() == 3
