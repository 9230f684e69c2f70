"""Writes of the affinity domain: organisations, their authorities, the demo bootstrap."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from organisations.models import AssigningAuthority, Organisation

OPERATOR_GROUP = "operator"

# DESIGN.md, Identities: the demo affinity domain the bootstrap and the tests use.
DEMO_HOSPITALS = [
    ("hospa", "Hospital A", "HOSPA", "1.3.6.1.4.1.21367.13.20.1000"),
    ("hospb", "Hospital B", "HOSPB", "1.3.6.1.4.1.21367.13.20.2000"),
]


@dataclass(frozen=True)
class Bootstrapped:
    created: bool
    operator_username: str = ""
    operator_password: str | None = None  # only when generated, to be shown once


def parse_cx4(cx4: str) -> tuple[str, str, str]:
    """`NS&OID&ISO` into its three components (HL7 v2.5 2.A.14.4, HD)."""
    parts = ([*cx4.split("&"), "", "", ""])[:3]
    return parts[0], parts[1], parts[2] or "ISO"


def organisation_create(*, code: str, name: str, authority_cx4: str | None = None,
                        is_affinity_domain: bool = False) -> Organisation:
    with transaction.atomic():
        organisation = Organisation.objects.create(code=code, name=name)
        if authority_cx4:
            namespace_id, universal_id, universal_id_type = parse_cx4(authority_cx4)
            AssigningAuthority.objects.create(
                namespace_id=namespace_id, universal_id=universal_id,
                universal_id_type=universal_id_type, organisation=organisation,
                is_affinity_domain=is_affinity_domain,
            )
    return organisation


def demo_bootstrap(*, affinity_domain_cx4: str, operator_username: str,
                   operator_password: str | None) -> Bootstrapped:
    """The demo affinity domain, once: on a database that has no organisation yet."""
    with transaction.atomic():
        if Organisation.objects.exists():
            return Bootstrapped(created=False)
        organisation_create(code="hie", name="Health information exchange",
                            authority_cx4=affinity_domain_cx4, is_affinity_domain=True)
        for code, name, namespace_id, oid in DEMO_HOSPITALS:
            organisation_create(code=code, name=name, authority_cx4=f"{namespace_id}&{oid}&ISO")
        generated = None
        if not operator_password:
            operator_password = generated = secrets.token_urlsafe(12)
        operator = User.objects.filter(username=operator_username).first()
        if operator is None:
            operator = User.objects.create_user(operator_username, password=operator_password,
                                                is_staff=True)
        else:
            generated = None
        group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
        group.permissions.set(Permission.objects.filter(
            content_type__app_label__in=["organisations", "ops"]))
        operator.groups.add(group)
    return Bootstrapped(created=True, operator_username=operator_username,
                        operator_password=generated)
