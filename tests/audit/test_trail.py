"""The local audit trail: written with the change it records, sealed into a chain, verified."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from audit import services
from audit.models import AuditChain, AuditEvent
from audit.records import from_json
from audit.selectors import chain_verify
from tests.audit.factories import a_query_record

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


def test_a_record_rolls_back_with_the_change_it_records() -> None:
    with pytest.raises(Rollback), transaction.atomic():
        services.record(a_query_record())
        raise Rollback
    assert AuditEvent.objects.count() == 0


def test_a_refusal_is_recorded_in_a_transaction_of_its_own() -> None:
    with pytest.raises(Rollback), transaction.atomic():
        services.record(a_query_record())
        raise Rollback
    services.record_alone(a_query_record(outcome=8))
    assert list(AuditEvent.objects.values_list("outcome", flat=True)) == [8]


def test_the_searchable_columns_say_what_the_record_says() -> None:
    event = services.record(a_query_record(), organisation="hospb")
    assert (event.event_id, event.transaction, event.user_id, event.organisation) == (
        "110112", "ITI-18", "hospb-consumer", "hospb")
    assert event.patient_ids == "A123^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
    assert from_json(event.record) == from_json(AuditEvent.objects.get().record)


def test_sealing_numbers_the_events_and_links_each_to_the_one_before() -> None:
    for _ in range(5):
        services.record(a_query_record())
    assert services.seal_pending() == 5
    events = list(AuditEvent.objects.order_by("sequence_id"))
    assert [e.sequence_id for e in events] == [1, 2, 3, 4, 5]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert AuditChain.objects.get().last_hash == events[-1].hash
    assert services.seal_pending() == 0


def test_a_clean_trail_verifies() -> None:
    for _ in range(3):
        services.record(a_query_record())
    services.seal_pending()
    report = chain_verify()
    assert report.ok and report.checked == 3
    call_command("audit_verify")


def _sealed_trail(count: int = 4) -> list[AuditEvent]:
    for _ in range(count):
        services.record(a_query_record())
    services.seal_pending()
    return list(AuditEvent.objects.order_by("sequence_id"))


def test_an_edited_column_is_named_by_audit_verify() -> None:
    events = _sealed_trail()
    AuditEvent.objects.filter(id=events[2].id).update(outcome=0 if events[2].outcome else 12)
    with pytest.raises(CommandError, match=f"event {events[2].id} "):
        call_command("audit_verify")


def test_an_edited_record_is_named_by_audit_verify() -> None:
    events = _sealed_trail()
    record = events[1].record
    record["participants"][0]["user_id"] = "someone-else"
    AuditEvent.objects.filter(id=events[1].id).update(record=record, user_id="someone-else")
    report = chain_verify()
    assert report.broken_event_id == events[1].id
    assert "content" in report.reason


def test_a_removed_row_is_named_by_audit_verify() -> None:
    events = _sealed_trail()
    AuditEvent.objects.filter(id=events[1].id).delete()
    report = chain_verify()
    assert report.broken_event_id == events[2].id
    assert "removed" in report.reason


def test_rows_removed_at_the_end_are_noticed() -> None:
    events = _sealed_trail()
    AuditEvent.objects.filter(id=events[-1].id).delete()
    report = chain_verify()
    assert not report.ok
    assert "end" in report.reason


def test_a_trail_emptied_of_every_row_is_noticed() -> None:
    _sealed_trail()
    AuditEvent.objects.all().delete()
    assert not chain_verify().ok


def test_a_row_slipped_in_past_the_head_is_noticed() -> None:
    events = _sealed_trail(2)
    AuditEvent.objects.filter(id=events[-1].id).update(sequence_id=(events[-1].sequence_id or 0) + 5)
    report = chain_verify()
    assert not report.ok
