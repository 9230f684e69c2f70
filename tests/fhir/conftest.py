"""FHIR facade fixtures: an organisation's OAuth2 client, its token from the real token endpoint,
and a client that sends FHIR JSON with it and checks every answer against the R4B models."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient
from oauth2_provider.models import Application

from fhir_api.models import FhirClient
from fhir_api.oauth import known_scopes
from organisations.models import Organisation
from organisations.services import demo_bootstrap
from tests.empi.conftest import AFFINITY_CX4
from tests.servers.node import Node

ALL_SCOPES: tuple[str, ...] = tuple(known_scopes())


def fhir_valid(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as fhir.resources' R4B model reads it: a structural error raises."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    for entry in resource.get("entry", []) if resource["resourceType"] == "Bundle" else []:
        if "resource" in entry:
            fhir_valid(entry["resource"])
    return resource


@dataclass
class Registered:
    client_id: str
    client_secret: str
    organisation: Organisation


def register_client(*, code: str = "hosp-a", scopes: tuple[str, ...] = ALL_SCOPES) -> Registered:
    organisation, _ = Organisation.objects.get_or_create(code=code, defaults={"name": code.upper()})
    secret = f"secret-{code}-{len(scopes)}"
    # The secret is kept unhashed here: PBKDF2 costs about half a second when the client is saved
    # and again at each token request. The hashed path operators use is tested in test_oauth.py
    # (fhir_client_add, the admin).
    application = Application.objects.create(
        name=f"{code} FHIR client", client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS, client_secret=secret,
        hash_client_secret=False)
    FhirClient.objects.create(application=application, organisation=organisation, scopes=" ".join(scopes))
    return Registered(client_id=application.client_id, client_secret=secret, organisation=organisation)


def token_for(http: Client, registered: Registered, scope: str = "") -> str:
    """A token from POST /oauth/token, client credentials in HTTP Basic (RFC 6749 2.3.1)."""
    basic = base64.b64encode(f"{registered.client_id}:{registered.client_secret}".encode()).decode()
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    answer = http.post("/oauth/token", form, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


class FhirTestClient:
    """Django's test client speaking FHIR JSON with a bearer token; every JSON answer is checked
    with fhir.resources before the test sees it."""

    def __init__(self, token: str | None) -> None:
        self.http = Client()
        self.headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def get(self, path: str, params: dict[str, Any] | list[tuple[str, str]] | None = None,
            **headers: Any) -> Any:
        query = params if isinstance(params, dict) else None
        if isinstance(params, list):
            from urllib.parse import urlencode
            path = f"{path}?{urlencode(params)}"
        return self._checked(self.http.get(path, query, **self.headers, **headers))

    def post(self, path: str, body: dict[str, Any] | bytes, **headers: Any) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self._checked(self.http.post(path, raw, content_type="application/fhir+json",
                                            **self.headers, **headers))

    def put(self, path: str, body: dict[str, Any] | bytes, **headers: Any) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self._checked(self.http.put(path, raw, content_type="application/fhir+json",
                                           **self.headers, **headers))

    def delete(self, path: str, **headers: Any) -> Any:
        return self._checked(self.http.delete(path, **self.headers, **headers))

    @staticmethod
    def _checked(response: Any) -> Any:
        kind = response.get("Content-Type", "")
        if kind.startswith("application/fhir+json") and response.content and not response.streaming:
            fhir_valid(json.loads(response.content))
        return response


@pytest.fixture
def fhir_client_factory(db: None) -> Callable[..., FhirTestClient]:
    """`fhir_client_factory(scopes=..., code=...)`: a registered client with a real token."""

    def make(*, scopes: tuple[str, ...] = ALL_SCOPES, code: str = "hosp-a") -> FhirTestClient:
        registered = register_client(code=code, scopes=scopes)
        return FhirTestClient(token_for(Client(), registered))

    return make


@pytest.fixture
def fhir(fhir_client_factory: Callable[..., FhirTestClient]) -> FhirTestClient:
    """A client of hospital A holding every scope."""
    return fhir_client_factory()


@dataclass
class LiveExchange:
    node: Node
    http: httpx.Client  # plain HTTP to the node, for SOAP
    fhir: SyncFHIRClient
    bearer: dict[str, str]


@pytest.fixture
def live(node: Node, db: None) -> Iterator[LiveExchange]:
    """The node's web and mllp processes, the demo affinity domain, hospital A's token, and fhirpy."""
    node.start("web", "mllp")
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    registered = register_client(code="hospa")
    with httpx.Client(base_url=node.url, timeout=60) as http:
        answer = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(registered.client_id, registered.client_secret))
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        yield LiveExchange(node=node, http=http, bearer={"Authorization": f"Bearer {token}"},
                       fhir=SyncFHIRClient(f"{node.url}/fhir", authorization=f"Bearer {token}"))


def live_client(live: LiveExchange, code: str) -> SyncFHIRClient:
    """fhirpy for another organisation of the demo domain (`hospb`), with a token of its own."""
    registered = register_client(code=code)
    answer = live.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                            auth=(registered.client_id, registered.client_secret))
    assert answer.status_code == 200, answer.text
    return SyncFHIRClient(f"{live.node.url}/fhir", authorization=f"Bearer {answer.json()['access_token']}")


def iti104_feed(live: LiveExchange, oid: str, value: str, *, family: str, given: str,
                client: SyncFHIRClient | None = None) -> dict[str, Any]:
    """ITI-104 add: a conditional update of the Patient by the hospital's identifier, by hospital
    A's client unless `client` is another's (a source feeds its own domain, ITI TF-2 3.104.4.1.3)."""
    fhir = client or live.fhir
    body = {"resourceType": "Patient", "identifier": [{"system": f"urn:oid:{oid}", "value": value}],
            "name": [{"family": family, "given": [given]}], "gender": "female", "birthDate": "1980-02-29"}
    patient = fhir.resources("Patient").search(identifier=f"urn:oid:{oid}|{value}").update(
        fhir.resource("Patient", **body))
    resource = patient[0] if isinstance(patient, tuple) else patient
    data: dict[str, Any] = resource.serialize()
    fhir_valid(data)
    return data
