"""Every change made in the console is on the audit trail: each page is an AuditedAdmin, an add or
change writes a Security Alert of its type, an action writes one, and signing in (or failing to)
is a User Authentication event."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.test import Client

from audit.models import AuditEvent
from imaging.models import DicomNode, RelevantPriorRule
from ops.admin import AuditedAdmin
from organisations.roles import OPERATOR
from organisations.services import organisation_create
from tests.console import signed_in

pytestmark = pytest.mark.django_db


def test_every_page_of_the_console_is_audited() -> None:
    plain = [model.__name__ for model, page in admin.site._registry.items()
             if not isinstance(page, AuditedAdmin)]
    assert plain == []


def test_adding_and_changing_a_dicom_node_are_network_configuration_alerts_naming_the_operator(
        client: Client) -> None:
    hospital_a = organisation_create(code="hospa", name="Hospital A")
    operator = signed_in(client, OPERATOR, username="olivia")
    form = {"organisation": hospital_a.pk, "ae_title": "HOSPA_PACS", "host": "10.0.0.5",
            "port": "104", "retrieve_method": "C-MOVE", "max_associations": "2", "is_source": "on",
            "active": "on"}
    assert operator.post("/admin/imaging/dicomnode/add/", form).status_code == 302
    node = DicomNode.objects.get(ae_title="HOSPA_PACS")
    assert operator.post(f"/admin/imaging/dicomnode/{node.pk}/change/",
                         {**form, "port": "11112"}).status_code == 302

    alerts = list(AuditEvent.objects.filter(event_id="110113").order_by("id"))
    assert [event.user_id for event in alerts] == ["olivia", "olivia"]
    descriptions = [json.dumps(event.record) for event in alerts]
    assert all("Network Configuration" in text for text in descriptions)
    assert "added by olivia" in descriptions[0] and "changed by olivia" in descriptions[1]
    assert "Port" in descriptions[1]
    assert {event.organisation for event in alerts} == {"hospa"}


def test_an_action_is_audited_with_the_rows_it_ran_on(client: Client) -> None:
    hospital_a = organisation_create(code="hospa", name="Hospital A")
    rule = RelevantPriorRule.objects.create(name="CT chest", ordering_organisation=hospital_a)
    operator = signed_in(client, OPERATOR, username="olivia")
    before = AuditEvent.objects.filter(event_id="110113").count()
    operator.post("/admin/imaging/relevantpriorrule/", {"action": "delete_selected",
                                                        "_selected_action": [rule.pk], "post": "yes"})
    assert not RelevantPriorRule.objects.exists()
    texts = [json.dumps(event.record) for event in
             AuditEvent.objects.filter(event_id="110113").order_by("id")[before:]]
    assert len(texts) == 1 and "deleted by olivia" in texts[0]
    assert "Software Configuration" in texts[0]


def test_signing_in_and_a_wrong_password_are_user_authentication_events(client: Client) -> None:
    signed_in(Client(), OPERATOR, username="olivia")
    client.post("/admin/login/", {"username": "olivia", "password": "Tr0ub4dor&3"})
    events = list(AuditEvent.objects.filter(event_id="110114").order_by("id"))
    assert [(event.user_id, event.outcome) for event in events] == [("olivia", 0), ("olivia", 4)]
    assert "Tr0ub4dor" not in json.dumps([event.record for event in events])
