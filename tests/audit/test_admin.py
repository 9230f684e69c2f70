"""The auditor's view of the trail in the admin: search, CSV export, chain status, read only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit import services
from audit.models import AuditEvent
from tests.audit.factories import a_query_record

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"


@pytest.fixture
def auditor() -> Client:
    user = User.objects.create_user("auditor", password="an auditor's password", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client = Client()
    client.force_login(user)
    return client


def test_the_auditor_finds_a_patients_events(auditor: Client) -> None:
    services.record(a_query_record(patient="A123^^^&1.2.3&ISO"))
    services.record(a_query_record(patient="B777^^^&1.2.4&ISO"))
    response = auditor.get(CHANGELIST, {"q": "B777"})
    assert response.status_code == 200
    assert b"B777" in response.content and b"A123" not in response.content


def test_the_auditor_filters_by_outcome(auditor: Client) -> None:
    services.record(a_query_record(outcome=0))
    services.record(a_query_record(outcome=8))
    response = auditor.get(CHANGELIST, {"outcome__exact": "8"})
    assert response.context["cl"].result_count == 1


def test_the_selected_events_export_as_csv(auditor: Client) -> None:
    for _ in range(3):
        services.record(a_query_record())
    services.seal_pending()
    ids = list(AuditEvent.objects.values_list("id", flat=True))
    response = auditor.post(CHANGELIST, {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().strip().splitlines()  # type: ignore[attr-defined]
    assert lines[0].startswith("id,sequence_id,event_datetime")
    assert len(lines) == 4


def test_the_chain_status_is_one_action_away(auditor: Client) -> None:
    services.record(a_query_record())
    services.seal_pending()
    ids = list(AuditEvent.objects.values_list("id", flat=True))
    response = auditor.post(CHANGELIST, {"action": "verify_chain", "_selected_action": ids},
                            follow=True)
    assert b"Chain intact: 1 sealed rows" in response.content


def test_nobody_edits_or_deletes_an_audit_event(auditor: Client) -> None:
    event = services.record(a_query_record())
    superuser = User.objects.create_superuser("root", password="a superuser's password")
    client = Client()
    client.force_login(superuser)
    assert client.get(f"{CHANGELIST}{event.id}/delete/").status_code == 403
    client.post(f"{CHANGELIST}{event.id}/change/", {"outcome": 12})
    assert AuditEvent.objects.get(id=event.id).outcome == 0


def test_staff_without_the_audit_permission_sees_nothing() -> None:
    user = User.objects.create_user("clerk", password="a clerk's password", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 403
