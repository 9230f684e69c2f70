"""The operators configure DICOM nodes in the admin; the auditor cannot; nobody edits the manifest index."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from imaging.models import DicomNode
from organisations.roles import AUDITOR, OPERATOR, roles_sync
from organisations.services import organisation_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Users made here sign in with force_login: their password need not cost a real hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def member_of(client: Client, role: str) -> Client:
    roles_sync()
    user = User.objects.create_user(role, password="a long demo password", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def test_an_operator_adds_hospital_a_pacs_as_a_dicom_node(client: Client) -> None:
    hospital_a = organisation_create(code="hospa", name="Hospital A")
    operator = member_of(client, OPERATOR)

    response = operator.post("/admin/imaging/dicomnode/add/", {
        "organisation": hospital_a.pk, "ae_title": "HOSPA_PACS", "host": "pacs.hospa.example",
        "port": "104", "retrieve_method": "C-GET", "max_associations": "2", "is_source": "on",
        "retrieve_location_uid": "1.3.6.1.4.1.21367.13.20.1000.9", "active": "on", "description": ""})

    assert response.status_code == 302, response.content[:2000]
    assert DicomNode.objects.get(ae_title="HOSPA_PACS").port == 104


def test_an_auditor_may_not_see_the_dicom_nodes(client: Client) -> None:
    auditor = member_of(client, AUDITOR)

    assert auditor.get("/admin/imaging/dicomnode/").status_code == 403


def test_the_manifest_index_is_shown_but_not_editable(client: Client) -> None:
    operator = member_of(client, OPERATOR)

    assert operator.get("/admin/imaging/manifeststudy/").status_code == 200
    assert operator.get("/admin/imaging/manifeststudy/add/").status_code == 403
