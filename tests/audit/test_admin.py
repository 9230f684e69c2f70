"""The auditor's view of the trail in the admin: search by each field (by an index), CSV export,
read only; reading it is audited as Audit Log Used."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit import services
from audit.models import AuditEvent, AuditPatient
from audit.records import Participant
from organisations.roles import AUDITOR
from organisations.services import organisation_create
from tests.audit.factories import a_query_record
from tests.console import assert_no_query_per_row, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Users made here sign in with force_login: their password need not cost a real hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CHANGELIST = "/admin/audit/auditevent/"
AUDIT_LOG_USED = "110101"


@pytest.fixture
def auditor(client: Client) -> Client:
    return signed_in(client, AUDITOR, username="auditor")


def by(user: str, **kwargs: object) -> AuditEvent:
    """A query recorded as made by `user`."""
    record = a_query_record(**kwargs)  # type: ignore[arg-type]
    requestor = Participant(user, is_requestor=True, network_access_point_id="10.0.0.7",
                            network_access_point_type_code=2)
    return services.record(dataclasses.replace(record, participants=(requestor,)))


def listed(client: Client, **params: str) -> set[int]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


def test_the_auditor_finds_a_patients_events(auditor: Client) -> None:
    services.record(a_query_record(patient="A123^^^&1.2.3&ISO"))
    services.record(a_query_record(patient="B777^^^&1.2.4&ISO"))
    response = auditor.get(CHANGELIST, {"q": "B777"})
    assert response.status_code == 200
    assert b"B777^" in response.content and b"A123^^^&amp;1.2.3&amp;ISO<" not in response.content


def test_a_patient_is_found_by_the_whole_cx_or_the_id_alone_never_by_a_part_of_it(
        auditor: Client) -> None:
    a123 = services.record(a_query_record(patient="A123^^^&1.2.3&ISO")).pk
    a1234 = services.record(a_query_record(patient="A1234^^^&1.2.3&ISO")).pk
    assert listed(auditor, q="A123^^^&1.2.3&ISO") == {a123}
    assert listed(auditor, q="A123") == {a123}
    assert a1234 not in listed(auditor, q="A12")


def test_each_recorded_patient_gets_a_row_of_the_patient_index() -> None:
    event = services.record(a_query_record(patient="A123^^^&1.2.3&ISO"))
    assert list(AuditPatient.objects.values_list("event_id", "patient_id")) == [
        (event.pk, "A123^^^&1.2.3&ISO")]


def test_the_auditor_filters_by_outcome(auditor: Client) -> None:
    services.record(a_query_record(outcome=0))
    failed = services.record(a_query_record(outcome=8)).pk
    assert listed(auditor, outcome="8") == {failed}


def test_the_auditor_filters_by_user_exactly_or_by_its_beginning(auditor: Client) -> None:
    viewer = by("hospa-viewer").pk
    by("hospb-consumer")
    assert listed(auditor, user="hospa-viewer") == {viewer}
    assert listed(auditor, user="hospa-") == {viewer}


def test_the_auditor_filters_by_organisation_transaction_and_event(auditor: Client) -> None:
    organisation_create(code="hospa", name="Hospital A")
    of_a = services.record(a_query_record(), organisation="hospa").pk
    other = services.record(a_query_record(), organisation="hospb").pk
    assert listed(auditor, organisation="hospa") == {of_a}
    assert listed(auditor, transaction="ITI-18") == {of_a, other}
    assert listed(auditor, event="110112") == {of_a, other}
    assert listed(auditor, transaction="ITI-43") == set()
    page = auditor.get(CHANGELIST).content.decode()
    assert "Hospital A (hospa)" in page and "ITI-18 Registry Stored Query" in page


def test_the_auditor_filters_by_a_recent_period_and_by_a_time_range(auditor: Client) -> None:
    now = datetime.now(UTC)
    old = services.record(dataclasses.replace(a_query_record(), event_datetime=now - timedelta(days=3)))
    new = services.record(a_query_record())
    assert old.pk not in listed(auditor, period="24h") and new.pk in listed(auditor, period="24h")
    day = (now - timedelta(days=3)).date()
    assert listed(auditor, transaction="ITI-18", **{"from": day.isoformat(),
                                                    "until": (day + timedelta(days=1)).isoformat()}
                  ) == {old.pk}


def test_a_time_that_is_no_time_is_refused_with_the_admins_error_page(auditor: Client) -> None:
    for url in (CHANGELIST, "/admin/audit/auditevent/export/"):
        response = auditor.get(url, {"from": "yesterday-ish"})
        assert response.status_code == 302 and "e=1" in response["Location"]


def test_the_selected_events_export_as_csv_and_the_export_is_audited(auditor: Client) -> None:
    ids = [services.record(a_query_record()).pk for _ in range(3)]
    services.seal_pending()
    response = auditor.post(CHANGELIST, {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().strip().splitlines()  # type: ignore[attr-defined]
    assert lines[0].startswith("id,sequence_id,event_datetime")
    assert len(lines) == 4
    export = AuditEvent.objects.get(event_id=AUDIT_LOG_USED, action_code="E")
    assert export.user_id == "auditor"


def test_the_current_search_exports_whole_as_csv_with_an_audit_log_used_e_record(
        auditor: Client) -> None:
    for _ in range(3):
        services.record(a_query_record(patient="B777^^^&1.2.4&ISO"))
    services.record(a_query_record(patient="A123^^^&1.2.3&ISO"))
    page = auditor.get(CHANGELIST, {"q": "B777"}).content.decode()
    assert 'href="/admin/audit/auditevent/export/?q=B777"' in page

    response = auditor.get("/admin/audit/auditevent/export/", {"q": "B777"})

    lines = b"".join(response.streaming_content).decode().strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 4 and all("B777" in line for line in lines[1:])
    export = AuditEvent.objects.get(event_id=AUDIT_LOG_USED, action_code="E")
    assert (export.user_id, export.record["objects"][0]["object_id"]) == (
        "auditor", "/admin/audit/auditevent/export/?q=B777")


def test_viewing_the_list_and_an_event_is_audited_once_per_page_as_audit_log_used_r(
        auditor: Client) -> None:
    event = services.record(a_query_record())
    auditor.get(CHANGELIST)
    assert AuditEvent.objects.filter(event_id=AUDIT_LOG_USED, action_code="R").count() == 1
    assert auditor.get(f"{CHANGELIST}{event.pk}/change/").status_code == 200
    reads = AuditEvent.objects.filter(event_id=AUDIT_LOG_USED, action_code="R")
    assert reads.count() == 2
    assert {r.user_id for r in reads} == {"auditor"}


def test_nobody_edits_or_deletes_an_audit_event(auditor: Client) -> None:
    event = services.record(a_query_record())
    superuser = User.objects.create_superuser("root", password="a superuser's password")
    client = Client()
    client.force_login(superuser)
    assert client.get(f"{CHANGELIST}{event.id}/delete/").status_code == 403
    client.post(f"{CHANGELIST}{event.id}/change/", {"outcome": 12})
    assert AuditEvent.objects.get(id=event.id).outcome == 0


def test_the_audit_list_takes_as_many_queries_for_thirty_events_as_for_three(auditor: Client) -> None:
    def add(n: int) -> None:
        for _ in range(n):
            services.record(a_query_record(patient="B777^^^&1.2.4&ISO"))
    assert_no_query_per_row(auditor, f"{CHANGELIST}?transaction=ITI-18", add)


def test_the_audit_list_never_selects_distinct_values_nor_counts_the_whole_trail(
        auditor: Client) -> None:
    services.record(a_query_record())
    with CaptureQueriesContext(connection) as captured:
        assert auditor.get(CHANGELIST).status_code == 200
    trail = [q["sql"] for q in captured.captured_queries if '"audit_auditevent"' in q["sql"]]
    assert not [sql for sql in trail if "DISTINCT" in sql.upper()]
    counts = [sql for sql in trail if "COUNT(" in sql.upper()]
    assert all("LIMIT" in sql.upper() or "sequence_id" in sql for sql in counts), counts
