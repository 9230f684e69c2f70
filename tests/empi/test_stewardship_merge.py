"""The operator merges two persons (choosing the survivor) and unmerges them: the records the
merge moved come back, and so does the registry's patient ID."""

from __future__ import annotations

import pytest
from django.test import Client

from empi import services, stewardship
from empi.models import PatientRecord, Person
from organisations.roles import OPERATOR
from registry.models import PatientIdentity
from tests.empi.conftest import Domain
from tests.empi.test_admin_review_queue import JANE_AT_A, feed, member_of, steward_audits

pytestmark = pytest.mark.django_db

WALDO = JANE_AT_A.__class__(given="WALDO", family="SMITHERS", birth_date="19511120", sex="M")


def identity(person: Person) -> PatientIdentity:
    return PatientIdentity.objects.get(patient_id=person.enterprise_id)


def test_the_operator_picks_the_survivor_and_the_other_persons_records_move_to_it(
        client: Client, domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    operator = member_of(client, OPERATOR)
    selected = {"action": "merge_persons", "index": "0",
                "_selected_action": [str(jane.person.pk), str(waldo.person.pk)]}

    asked = operator.post("/admin/empi/person/", selected)
    assert asked.status_code == 200 and "Which person survives?" in asked.content.decode()
    done = operator.post("/admin/empi/person/", {**selected, "post": "yes",
                                                 "survivor": str(jane.person.pk)})

    assert done.status_code == 302
    assert PatientRecord.objects.get(pk=waldo.record.pk).person == jane.person
    assert Person.objects.get(pk=waldo.person.pk).merged_into == jane.person
    assert identity(waldo.person).merged_into == identity(jane.person)
    assert steward_audits("the operator") == 1


def test_unmerge_restores_the_records_and_the_registrys_patient_identity(
        client: Client, domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    stewardship.persons_merge(survivor=jane.person, subsumed=waldo.person, actor="the operator")
    operator = member_of(client, OPERATOR)

    operator.post("/admin/empi/person/", {"action": "unmerge_persons", "index": "0", "post": "yes",
                                          "_selected_action": [str(waldo.person.pk)]})

    assert PatientRecord.objects.get(pk=waldo.record.pk).person == waldo.person
    assert PatientRecord.objects.get(pk=jane.record.pk).person == jane.person
    assert Person.objects.get(pk=waldo.person.pk).merged_into is None
    assert identity(waldo.person).merged_into is None
    # The merge's, the unmerge's, and the registry's for its patient identity.
    assert steward_audits("the operator") == 3


def test_a_record_linked_elsewhere_since_the_merge_stays_where_the_steward_put_it(
        domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    other = feed(domain, "hospital_b", "B901", WALDO.__class__(given="OTTO", family="KLEIN",
                                                              birth_date="19700707", sex="M"))
    stewardship.persons_merge(survivor=jane.person, subsumed=waldo.person, actor="the operator")
    services.record_link(record=waldo.record, person=other.person, actor="the operator")

    restored = stewardship.person_unmerge(person=waldo.person, actor="the operator")

    assert restored == []
    assert PatientRecord.objects.get(pk=waldo.record.pk).person == other.person
    assert Person.objects.get(pk=waldo.person.pk).merged_into is None


def test_a_person_not_merged_cannot_be_unmerged(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    with pytest.raises(stewardship.StewardshipError):
        stewardship.person_unmerge(person=jane.person, actor="the operator")


def test_an_a40_merge_is_undone_by_the_steward_too(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    services.person_merge(surviving_authority=domain.hospital_a, surviving_identifier="A123",
                          subsumed_authority=domain.hospital_b, subsumed_identifier="B900",
                          source="HOSPA_HIS|HOSPA")

    stewardship.person_unmerge(person=waldo.person, actor="the operator")

    assert PatientRecord.objects.get(pk=waldo.record.pk).person == waldo.person
    assert identity(waldo.person).merged_into is None
    assert PatientRecord.objects.get(pk=jane.record.pk).person == jane.person


def test_merging_and_unmerging_a_person_without_records_is_audited_too(domain: Domain) -> None:
    jane = feed(domain, "hospital_a", "A123", JANE_AT_A)
    waldo = feed(domain, "hospital_b", "B900", WALDO)
    services.record_link(record=waldo.record, person=jane.person, actor="the data steward")
    before = steward_audits("the operator")

    stewardship.persons_merge(survivor=jane.person, subsumed=waldo.person, actor="the operator")
    stewardship.person_unmerge(person=waldo.person, actor="the operator")

    # Each steward act, and the registry's unmerge of the patient identity.
    assert steward_audits("the operator") == before + 3
