"""Writes of the affinity domain: organisations, their authorities and certificates, the demo bootstrap."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import Group, User
from django.db import transaction

from audit.events import SECURITY_CONFIGURATION, Peer, security_alert
from audit.services import record
from organisations.models import AssigningAuthority, ClientCertificate, Member, Organisation
from organisations.roles import OPERATOR, RADIOLOGIST, roles_sync
from organisations.selectors import certificate_refusal

if TYPE_CHECKING:
    from organisations.certificates import CertificateFacts


# DESIGN.md, Identities: the demo affinity domain the bootstrap and the tests use.
DEMO_HOSPITALS = [
    ("hospa", "Hospital A", "HOSPA", "1.3.6.1.4.1.21367.13.20.1000"),
    ("hospb", "Hospital B", "HOSPB", "1.3.6.1.4.1.21367.13.20.2000"),
]

DEMO_RADIOLOGIST = "radiologist"


@dataclass(frozen=True)
class Bootstrapped:
    created: bool
    operator_username: str = ""
    operator_password: str | None = None  # only when generated, to be shown once
    radiologist_username: str = ""  # hospital B's demo radiologist, for the priors pages
    radiologist_password: str | None = None  # always generated, to be shown once


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


class CertificateRefused(ValueError):
    """A certificate the node will not take as an organisation's client certificate."""


def client_certificate_register(*, organisation: Organisation, certificate: CertificateFacts,
                                registered_by: str = "") -> ClientCertificate:
    """Make `certificate` authenticate `organisation`'s systems (ITI TF-2 3.19), audited as a
    security configuration change."""
    with transaction.atomic():
        refusal = certificate_refusal(certificate=certificate)
        if refusal:
            raise CertificateRefused(refusal)
        registered = ClientCertificate.objects.create(
            organisation=organisation, fingerprint_sha256=certificate.fingerprint_sha256,
            subject=certificate.subject, issuer=certificate.issuer, serial=certificate.serial,
            not_before=certificate.not_before, not_after=certificate.not_after, pem=certificate.pem,
        )
        record(security_alert(
            type_code=SECURITY_CONFIGURATION, outcome=0,
            description=(f"Client certificate {certificate.subject} (SHA-256 "
                         f"{certificate.fingerprint_sha256}) registered to {organisation.code}")[:1000],
            performer=Peer(user_id=registered_by) if registered_by else None,
        ), organisation=organisation.code)
    return registered


def member_save(*, user: User, organisation: Organisation) -> Member:
    """Make `user` a radiologist of `organisation` (one organisation each: a second call moves them)."""
    with transaction.atomic():
        member, _created = Member.objects.update_or_create(user=user,
                                                           defaults={"organisation": organisation})
        roles_sync()  # the group exists on a database migrated before the role was added
        user.groups.add(Group.objects.get(name=RADIOLOGIST))
    return member


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
        roles_sync()
        operator.groups.add(Group.objects.get(name=OPERATOR))
        radiologist = _demo_radiologist()
    return Bootstrapped(created=True, operator_username=operator_username,
                        operator_password=generated, radiologist_username=radiologist[0],
                        radiologist_password=radiologist[1])


def _demo_radiologist() -> tuple[str, str | None]:
    """Hospital B's radiologist (DESIGN.md, step 4), unless the name is taken already."""
    if User.objects.filter(username=DEMO_RADIOLOGIST).exists():
        return DEMO_RADIOLOGIST, None
    password = secrets.token_urlsafe(12)
    user = User.objects.create_user(DEMO_RADIOLOGIST, password=password, first_name="Demo",
                                    last_name="Radiologist")
    member_save(user=user, organisation=Organisation.objects.get(code="hospb"))
    return DEMO_RADIOLOGIST, password
