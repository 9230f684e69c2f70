"""The radiologist role: a Member of one organisation, in a group that sees no admin model."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import Client

from imaging.web import selectors
from organisations.models import Member, Organisation
from organisations.roles import RADIOLOGIST, roles_sync
from organisations.services import demo_bootstrap, member_save

pytestmark = pytest.mark.django_db
DOMAIN = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"


def test_the_radiologist_role_sees_no_admin_model() -> None:
    roles_sync()
    assert not Group.objects.get(name=RADIOLOGIST).permissions.exists()


def test_the_demo_has_a_radiologist_at_hospital_b() -> None:
    result = demo_bootstrap(affinity_domain_cx4=DOMAIN, operator_username="operator",
                            operator_password="a long demo password")
    radiologist = User.objects.get(username=result.radiologist_username)
    assert result.radiologist_password and radiologist.check_password(result.radiologist_password)
    assert not radiologist.is_staff
    member = selectors.radiologist_member(radiologist)
    assert member is not None and member.organisation.code == "hospb"


def test_a_member_belongs_to_one_organisation_and_moves_with_a_second_save() -> None:
    a = Organisation.objects.create(code="hospa", name="Hospital A")
    b = Organisation.objects.create(code="hospb", name="Hospital B")
    user = User.objects.create_user("rita")
    member_save(user=user, organisation=a)
    member_save(user=user, organisation=b)
    assert Member.objects.get(user=user).organisation == b
    assert user.groups.filter(name=RADIOLOGIST).exists()


def test_a_member_of_an_inactive_organisation_or_without_the_role_is_no_radiologist() -> None:
    closed = Organisation.objects.create(code="closed", name="Closed", active=False)
    open_ = Organisation.objects.create(code="open", name="Open")
    left = User.objects.create_user("left")
    member_save(user=left, organisation=closed)
    plain = User.objects.create_user("plain")
    Member.objects.create(user=plain, organisation=open_)  # a row without the role
    assert selectors.radiologist_member(left) is None
    assert selectors.radiologist_member(plain) is None


def test_the_operators_manage_members_in_the_admin() -> None:
    assert Member in admin.site._registry


def test_an_unknown_record_is_not_found_and_a_fetch_needs_its_csrf_token() -> None:
    a = Organisation.objects.create(code="hospa", name="Hospital A")
    user = User.objects.create_user("rita", password="a long password")
    member_save(user=user, organisation=a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/priors/patients/1/progress").status_code == 404
    assert client.post("/priors/patients/1/fetch").status_code == 403  # no CSRF token
