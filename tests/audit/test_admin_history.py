"""A patient's access history, the hash chain's last verification above the list, and who may
see any of it (an auditor and an operator; never a data steward)."""

from __future__ import annotations

import importlib
import io
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from audit import services
from audit.models import AuditEvent, AuditPatient, AuditVerification
from audit.tasks import verify_audit_chain
from organisations.roles import AUDITOR, DATA_STEWARD, OPERATOR
from tests.audit.factories import a_query_record
from tests.console import assert_no_query_per_row, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Users made here sign in with force_login: their password need not cost a real hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CHANGELIST = "/admin/audit/auditevent/"
HISTORY = "/admin/audit/auditevent/patient/"
A123 = "A123^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
B777 = "B777^^^&1.3.6.1.4.1.21367.13.20.2000&ISO"


@pytest.fixture
def auditor(client: Client) -> Client:
    return signed_in(client, AUDITOR, username="auditor")


def test_a_patients_history_shows_every_event_of_that_patient_only_newest_first(
        auditor: Client) -> None:
    first = services.record(a_query_record(patient=A123), organisation="hospb")
    services.record(a_query_record(patient=B777))
    failed = services.record(a_query_record(patient=A123, outcome=8), organisation="hospb")

    response = auditor.get(HISTORY, {"patient": A123})

    assert response.status_code == 200
    assert [row["event"].pk for row in response.context["rows"]] == [failed.pk, first.pk]
    page = response.content.decode()
    assert "B777" not in page
    assert "ITI-18 Registry Stored Query" in page and "serious failure" in page
    assert "hospb-consumer" in page and "execute" in page and "127.0.0.1" in page


def test_a_patients_history_by_the_id_alone_covers_every_assigning_authority(auditor: Client) -> None:
    services.record(a_query_record(patient=A123))
    services.record(a_query_record(patient="A123^^^&1.2.99&ISO"))
    services.record(a_query_record(patient="A1234^^^&1.2.99&ISO"))
    response = auditor.get(HISTORY, {"patient": "A123"})
    assert len(response.context["rows"]) == 2


def test_each_event_row_links_its_patients_to_their_history(auditor: Client) -> None:
    services.record(a_query_record(patient=A123))
    page = auditor.get(CHANGELIST).content.decode()
    assert f'href="{HISTORY}?patient=A123%5E%5E%5E%261.3.6.1.4.1.21367.13.20.1000%26ISO"' in page


def test_viewing_a_patients_history_is_audited_as_audit_log_used_r(auditor: Client) -> None:
    auditor.get(HISTORY, {"patient": A123})
    read = AuditEvent.objects.get(event_id="110101", action_code="R")
    assert read.user_id == "auditor"
    assert read.record["objects"][0]["object_id"].startswith(f"{HISTORY}?patient=A123")


def test_the_history_takes_as_many_queries_for_thirty_events_as_for_three(auditor: Client) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            services.record(a_query_record(patient=A123))
    assert_no_query_per_row(auditor, f"{HISTORY}?patient=A123", add)


def test_the_list_shows_the_last_verification_kept_not_a_new_walk(auditor: Client) -> None:
    services.record(a_query_record())
    services.seal_pending()
    AuditVerification.objects.create(verified_by="beat", intact=False, checked=41, unsealed=0,
                                     broken_event_id=42, broken_sequence_id=42,
                                     reason="its content no longer matches its hash")
    page = auditor.get(CHANGELIST).content.decode()
    assert "broken at sequenceId 42 (event 42): its content no longer matches its hash" in page
    assert "by beat; the 41 rows before it are intact" in page
    assert "rows not sealed yet" in page  # the sign-in and this page's read, not sealed


def test_the_verify_action_the_command_and_beats_task_each_keep_their_result(auditor: Client) -> None:
    services.record(a_query_record())
    services.seal_pending()
    ids = list(AuditEvent.objects.values_list("id", flat=True))
    response = auditor.post(CHANGELIST, {"action": "verify_chain", "_selected_action": ids},
                            follow=True)
    assert b"Chain intact: 2 sealed rows" in response.content  # the auditor's sign-in, the query
    call_command("audit_verify", stdout=io.StringIO())
    verify_audit_chain()
    kept = list(AuditVerification.objects.order_by("id").values_list("verified_by", "intact"))
    assert kept == [("auditor", True), ("audit_verify", True), ("beat", True)]
    page = auditor.get(CHANGELIST).content.decode()
    assert "intact at the last verification" in page and "by beat" in page


def test_the_migration_fills_the_patient_index_for_events_recorded_before_it() -> None:
    services.record(a_query_record(patient=A123))
    AuditEvent.objects.create(event_datetime="2026-01-01T00:00:00Z", event_id="110112",
                              event_name="Query", action_code="E", outcome=0,
                              patient_ids=f"{A123}|{B777}", record={})
    AuditPatient.objects.all().delete()
    migration = importlib.import_module("audit.migrations.0002_patients_and_verifications")
    migration.patients_fill(apps, None)
    assert sorted(AuditPatient.objects.values_list("patient_id", flat=True)) == [A123, A123, B777]


@pytest.mark.parametrize("url", [CHANGELIST, HISTORY + "?patient=A123",
                                 "/admin/audit/auditevent/export/", "EVENT"])
def test_a_data_steward_may_not_see_the_audit_trail(client: Client, url: str) -> None:
    event = services.record(a_query_record(patient=A123))
    steward = signed_in(client, DATA_STEWARD)
    url = f"{CHANGELIST}{event.pk}/change/" if url == "EVENT" else url
    assert steward.get(url).status_code == 403
    assert not AuditEvent.objects.filter(event_id="110101").exists()


def test_an_operator_reads_the_audit_trail_too(client: Client) -> None:
    operator = signed_in(client, OPERATOR)
    assert operator.get(CHANGELIST).status_code == 200
    assert operator.get(HISTORY, {"patient": "A123"}).status_code == 200
