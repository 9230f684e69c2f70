"""The FHIR facade over `webtls`: an organisation's TLS client certificate (ITI-19) stands in for
a token, with the scopes FHIR_CERTIFICATE_SCOPES gives certificates."""

from __future__ import annotations

import httpx
import pytest

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from tests.conftest import needs_node
from tests.fhir.conftest import fhir_valid
from tests.servers.node import Node
from tests.servers.tls import hospital_a

pytestmark = needs_node


@pytest.fixture
def webtls(tls_node: Node) -> Node:
    return tls_node.start("webtls")


def test_hospital_a_s_certificate_searches_and_is_audited_under_hospital_a(
        webtls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    response = httpx.get(f"{webtls.https_url}/fhir/ImagingStudy", params={"_id": "1"},
                         verify=hospital_a(exchange_ca))
    assert response.status_code == 200, response.text
    assert fhir_valid(response.json())["type"] == "searchset"
    assert AuditEvent.objects.filter(organisation="hospa", user_id="certificate:hospa").exists()


def test_a_certificate_does_not_open_the_audit_trail(
        webtls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    response = httpx.get(f"{webtls.https_url}/fhir/AuditEvent", verify=hospital_a(exchange_ca))
    assert response.status_code == 403
    assert fhir_valid(response.json())["issue"][0]["code"] == "forbidden"
