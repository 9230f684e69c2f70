"""The operators configure where priors come from and go to: DICOM nodes with their roles, TLS and
association limit, tested by a real C-ECHO from the admin; and the relevant-prior rules."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.messages import get_messages
from django.test import Client

from imaging.models import DicomNode
from imaging.prefetch.models import RelevantPriorRule
from organisations.roles import OPERATOR, roles_sync
from tests.imaging.prefetch.sites import Sites, site_pacs, sites  # noqa: F401
from tests.servers.process import free_port


def the_operator(client: Client) -> Client:
    roles_sync()
    user = User.objects.create_user("the operator", password="a long demo password", is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATOR))
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_the_operator_tests_the_selected_nodes_with_a_real_c_echo(client: Client, sites: Sites) -> None:  # noqa: F811
    silent = DicomNode.objects.create(organisation=sites.hospital_a, ae_title="HOSPA_OLD", host="127.0.0.1",
                                      port=free_port())
    operator = the_operator(client)

    response = operator.post("/admin/imaging/dicomnode/", {
        "action": "echo", "_selected_action": [sites.a_pacs.pk, silent.pk]}, follow=True)

    found = messages_of(response)
    assert ("success", f"HOSPA_PACS at 127.0.0.1:{sites.a_pacs.port} answered C-ECHO: success") in [
        (level, text.split(" (")[0]) for level, text in found]
    assert any(level == "error" and text.startswith("HOSPA_OLD") for level, text in found)


def test_the_operator_saves_a_node_and_tests_it_with_one_button(client: Client, sites: Sites) -> None:  # noqa: F811
    operator = the_operator(client)
    url = f"/admin/imaging/dicomnode/{sites.b_pacs.pk}/change/"
    assert b'name="_echo"' in operator.get(url).content

    response = operator.post(url, {
        "organisation": sites.hospital_b.pk, "ae_title": "HOSPB_PACS", "host": "127.0.0.1",
        "port": str(sites.b_pacs.port), "description": "", "active": "on", "is_destination": "on",
        "retrieve_method": "C-MOVE", "retrieve_location_uid": "", "max_associations": "4",
        "_echo": "Save and test with C-ECHO"}, follow=True)

    assert response.redirect_chain[-1][0] == url
    ((level, text),) = messages_of(response)
    assert (level, text.startswith("HOSPB_PACS at 127.0.0.1")) == ("success", True)
    node = DicomNode.objects.get(pk=sites.b_pacs.pk)
    assert (node.is_source, node.is_destination, node.max_associations) == (False, True, 4)


def test_the_operator_adds_a_relevant_prior_rule_for_one_site(client: Client, sites: Sites) -> None:  # noqa: F811
    operator = the_operator(client)

    response = operator.post("/admin/imaging/relevantpriorrule/add/", {
        "name": "Chest CT at B", "ordering_organisation": sites.hospital_b.pk, "active": "on",
        "order_modalities": "CT", "prior_modalities": "CT CR", "body_parts": "CHEST",
        "lookback_days": "1825", "max_priors": "3"})

    assert response.status_code == 302, response.content[:2000]
    rule = RelevantPriorRule.objects.get()
    assert (rule.ordering_organisation, rule.prior_modalities) == (sites.hospital_b, "CT CR")
