"""The operator registers a hospital's client certificate by pasting its PEM in the admin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from organisations.models import ClientCertificate, Organisation
from organisations.services import organisation_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Users made here sign in with force_login: their password need not cost a real hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hospital_a() -> Organisation:
    return organisation_create(code="hospa", name="Hospital A")


@pytest.fixture
def operator(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("operator", password="a long demo password"))
    return client


def change_url(organisation: Organisation) -> str:
    return f"/admin/organisations/organisation/{organisation.pk}/change/"


def paste(operator: Client, organisation: Organisation, pem: str, *, active: bool = True) -> str:
    """Post the organisation's change form with `pem` in the new-certificate row; the page shown."""
    existing = list(organisation.client_certificates.all())
    data = {
        "code": organisation.code, "name": organisation.name, "active": "on",
        "assigning_authorities-TOTAL_FORMS": "0", "assigning_authorities-INITIAL_FORMS": "0",
        "client_certificates-TOTAL_FORMS": str(len(existing)),
        "client_certificates-INITIAL_FORMS": str(len(existing)),
        "client_certificates-2-TOTAL_FORMS": "1", "client_certificates-2-INITIAL_FORMS": "0",
        "client_certificates-2-0-pem_text": pem,
        "_continue": "Save and continue editing",
    }
    for number, certificate in enumerate(existing):
        data[f"client_certificates-{number}-id"] = str(certificate.pk)
        data[f"client_certificates-{number}-organisation"] = str(organisation.pk)
        if active:
            data[f"client_certificates-{number}-active"] = "on"
    response = operator.post(change_url(organisation), data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_pasted_pem_is_registered_and_shown_with_its_fingerprint_and_expiry(
        operator: Client, hospital_a: Organisation, exchange_ca: DemoCertificates) -> None:
    paste(operator, hospital_a, exchange_ca.clients["hospa"].cert.read_text())

    certificate = ClientCertificate.objects.get(organisation=hospital_a)
    assert certificate.subject == "CN=hospa,O=HIE demo"
    alerts = AuditEvent.objects.filter(event_id="110113", organisation="hospa")
    registered = [a for a in alerts if "registered to hospa" in json.dumps(a.record)]
    assert [a.user_id for a in registered] == ["operator"]  # registered through the service, audited
    page = operator.get(change_url(hospital_a)).content.decode()
    assert certificate.fingerprint_sha256 in page
    assert "in 824 days" in page  # the demo CA issues for 825 days, from 5 minutes ago


def test_pasted_text_that_is_no_certificate_is_shown_as_an_error_and_nothing_saved(
        operator: Client, hospital_a: Organisation, exchange_ca: DemoCertificates) -> None:
    page = paste(operator, hospital_a, exchange_ca.clients["hospa"].key.read_text())
    assert "paste exactly one PEM certificate" in page
    assert not ClientCertificate.objects.exists()


def test_a_certificate_registered_already_is_shown_as_an_error(
        operator: Client, hospital_a: Organisation, exchange_ca: DemoCertificates) -> None:
    pem = exchange_ca.clients["hospa"].cert.read_text()
    paste(operator, hospital_a, pem)
    page = paste(operator, hospital_a, pem)
    assert "registered already, to Hospital A" in page
    assert ClientCertificate.objects.count() == 1


def test_the_operator_takes_a_certificate_out_of_use_by_unticking_active(
        operator: Client, hospital_a: Organisation, exchange_ca: DemoCertificates) -> None:
    paste(operator, hospital_a, exchange_ca.clients["hospa"].cert.read_text())
    paste(operator, hospital_a, "", active=False)
    assert not ClientCertificate.objects.get().active
