"""OAuth2 client credentials for the FHIR facade: the token endpoint, scopes, registration."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEvent
from fhir_api.models import FhirClient
from organisations.models import Organisation
from organisations.roles import OPERATOR, roles_sync
from tests.fhir.conftest import register_client, token_for

pytestmark = pytest.mark.django_db


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_a_token_carries_only_the_scopes_the_client_is_allowed() -> None:
    registered = register_client(scopes=("system/Patient.read",))
    answer = Client().post("/oauth/token", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=_basic(registered.client_id, registered.client_secret))
    assert answer.status_code == 200
    assert answer.json()["scope"] == "system/Patient.read"


def test_asking_for_a_scope_beyond_the_client_s_is_invalid_scope() -> None:
    registered = register_client(scopes=("system/Patient.read",))
    answer = Client().post("/oauth/token", {"grant_type": "client_credentials",
                                            "scope": "system/AuditEvent.read"},
                           HTTP_AUTHORIZATION=_basic(registered.client_id, registered.client_secret))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_a_wrong_secret_gets_no_token() -> None:
    registered = register_client()
    answer = Client().post("/oauth/token", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=_basic(registered.client_id, "guess"))
    assert answer.status_code == 401


def test_a_client_of_an_inactive_organisation_is_refused_every_scope() -> None:
    registered = register_client(code="closed")
    Organisation.objects.filter(code="closed").update(active=False)
    answer = Client().post("/oauth/token", {"grant_type": "client_credentials",
                                            "scope": "system/Patient.read"},
                           HTTP_AUTHORIZATION=_basic(registered.client_id, registered.client_secret))
    assert answer.status_code == 400


def test_the_command_registers_a_client_whose_secret_works_and_audits_it() -> None:
    Organisation.objects.create(code="hospa", name="Hospital A")
    out = StringIO()
    call_command("fhir_client_add", "hospa", "Hospital A viewer", "--scope", "system/Patient.read",
                 stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    secret = lines["client_secret"].split()[0]
    answer = Client().post("/oauth/token", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=_basic(lines["client_id"], secret))
    assert answer.status_code == 200
    assert AuditEvent.objects.filter(event_id="110113", organisation="hospa").exists()


def test_an_operator_registers_a_client_in_the_admin_and_sees_its_secret_once() -> None:
    roles_sync()
    hospital = Organisation.objects.create(code="hospa", name="Hospital A")
    operator = User.objects.create_user("op", password="pw", is_staff=True)
    operator.groups.add(Group.objects.get(name=OPERATOR))
    browser = Client()
    browser.force_login(operator)
    answer = browser.post("/admin/fhir_api/fhirclient/add/", {
        "organisation": hospital.pk, "name": "Viewer", "scope_choices": ["system/Patient.read"]}, follow=True)
    assert answer.status_code == 200
    client = FhirClient.objects.get()
    assert client.scopes == "system/Patient.read"
    assert "shown this once" in answer.content.decode()


def test_a_token_from_the_endpoint_opens_the_facade() -> None:
    token = token_for(Client(), register_client())
    answer = Client().get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200


def test_a_token_stops_working_when_it_expires_or_its_organisation_is_switched_off(
        settings: pytest.FixtureRequest) -> None:
    from datetime import timedelta

    settings.FHIR_TOKEN_CACHE_SECONDS = 0  # type: ignore[attr-defined]  # every request looks

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    http = Client()
    token = token_for(http, register_client(code="hospx"))
    bearer = f"Bearer {token}"
    assert http.get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=bearer).status_code == 200
    Organisation.objects.filter(code="hospx").update(active=False)
    assert http.get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=bearer).status_code == 401
    Organisation.objects.filter(code="hospx").update(active=True)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    answer = http.get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 401
    assert "invalid_token" in answer["WWW-Authenticate"]


def test_a_checked_token_is_trusted_for_the_cache_time_then_looked_up_again(
        settings: pytest.FixtureRequest) -> None:
    from fhir_api import auth

    settings.FHIR_TOKEN_CACHE_SECONDS = 60  # type: ignore[attr-defined]
    http = Client()
    token = token_for(http, register_client(code="hospy"))
    bearer = f"Bearer {token}"
    assert http.get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=bearer).status_code == 200
    Organisation.objects.filter(code="hospy").update(active=False)
    assert http.get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=bearer).status_code == 200
    auth._valid_tokens.clear()  # the cache time has passed
    assert http.get("/fhir/ImagingStudy", {"_id": "1"}, HTTP_AUTHORIZATION=bearer).status_code == 401
