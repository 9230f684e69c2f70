"""The EMPI's tables keep their promises: one record per identifier, one active parameter set."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from empi.models import MatchParameters, PatientRecord, Person
from tests.empi.conftest import Domain

pytestmark = pytest.mark.django_db


def test_an_identifier_names_one_record_in_its_authority(domain: Domain) -> None:
    person = Person.objects.create(enterprise_id="1^^^&1.3.6.1.4.1.21367.2005.3.7&ISO")
    PatientRecord.objects.create(authority=domain.hospital_a, identifier="A123", person=person)
    PatientRecord.objects.create(authority=domain.hospital_b, identifier="A123", person=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientRecord.objects.create(authority=domain.hospital_a, identifier="A123", person=person)


def test_a_record_is_written_in_cx_form_with_its_authority(domain: Domain) -> None:
    person = Person.objects.create(enterprise_id="1^^^&1.3.6.1.4.1.21367.2005.3.7&ISO")
    record = PatientRecord.objects.create(authority=domain.hospital_a, identifier="A123", person=person)
    assert record.cx == "A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO"


def test_a_record_cannot_exist_without_a_person(domain: Domain) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientRecord.objects.create(authority=domain.hospital_a, identifier="A123")


def test_only_one_parameter_set_is_active(db: None) -> None:
    MatchParameters.objects.create(version=1, parameters={}, active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        MatchParameters.objects.create(version=2, parameters={}, active=True)
