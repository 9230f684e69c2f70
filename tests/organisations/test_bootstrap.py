"""The demo bootstrap: the affinity domain of DESIGN.md, once, with an operator account."""

import pytest
from django.contrib.auth.models import User

from organisations.models import AssigningAuthority, Organisation
from organisations.services import demo_bootstrap, parse_cx4

pytestmark = pytest.mark.django_db
DOMAIN = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"


def test_an_empty_database_gets_the_affinity_domain_and_two_hospitals() -> None:
    result = demo_bootstrap(affinity_domain_cx4=DOMAIN, operator_username="operator",
                            operator_password=None)
    assert result.created
    assert result.operator_password  # generated, to be printed once
    domain = AssigningAuthority.objects.get(is_affinity_domain=True)
    assert domain.cx4 == DOMAIN
    authorities = {a.cx4 for a in AssigningAuthority.objects.filter(is_affinity_domain=False)}
    assert authorities == {"HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO",
                           "HOSPB&1.3.6.1.4.1.21367.13.20.2000&ISO"}
    operator = User.objects.get(username="operator")
    assert operator.is_staff and not operator.is_superuser
    assert operator.check_password(result.operator_password)
    assert operator.groups.filter(name="operator").exists()


def test_a_second_bootstrap_changes_nothing() -> None:
    demo_bootstrap(affinity_domain_cx4=DOMAIN, operator_username="operator",
                   operator_password="a long demo password")
    again = demo_bootstrap(affinity_domain_cx4=DOMAIN, operator_username="operator",
                           operator_password="another password")
    assert not again.created
    assert Organisation.objects.count() == 3
    assert User.objects.get(username="operator").check_password("a long demo password")


def test_a_password_from_the_environment_is_not_echoed() -> None:
    result = demo_bootstrap(affinity_domain_cx4=DOMAIN, operator_username="operator",
                            operator_password="given by the operator")
    assert result.operator_password is None


def test_cx4_splits_into_namespace_oid_and_type() -> None:
    assert parse_cx4("HOSPA&1.2.3&ISO") == ("HOSPA", "1.2.3", "ISO")
    assert parse_cx4("&1.2.3") == ("", "1.2.3", "ISO")


def test_the_auditor_role_reads_the_audit_trail_and_nothing_else() -> None:
    from django.contrib.auth.models import Group

    from organisations.roles import AUDITOR, roles_sync

    roles_sync()
    codenames = set(Group.objects.get(name=AUDITOR).permissions.values_list("codename", flat=True))
    assert codenames == {"view_auditevent", "view_auditchain"}
