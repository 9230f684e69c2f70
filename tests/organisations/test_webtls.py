"""The `webtls` process: HTTPS with client certificates (ITI-19), spoken to over loopback."""

from __future__ import annotations

import runpy
import ssl
from pathlib import Path

import httpx
import pytest

from lib.demo_ca import DemoCertificates
from tests.conftest import needs_node
from tests.servers.node import ROOT, Node, procfile_commands
from tests.servers.tls import (
    REFUSED_CLIENTS,
    hospital_a,
    node_authentication_alert,
    refused_client,
    unclaimed,
)

pytestmark = needs_node


@pytest.fixture
def webtls(tls_node: Node) -> Node:
    return tls_node.start("webtls")


def test_hospital_a_with_its_registered_certificate_gets_the_registry_wsdl(
        webtls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    response = httpx.get(f"{webtls.https_url}/xds/registry?wsdl", verify=hospital_a(exchange_ca))
    assert response.status_code == 200
    assert b"DocumentRegistry" in response.content


def test_a_soap_fault_for_hospital_a_is_audited_under_hospital_a(
        webtls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    from audit.models import AuditEvent

    response = httpx.post(f"{webtls.https_url}/xds/registry", content=b"not a SOAP envelope",
                          headers={"Content-Type": "application/soap+xml"},
                          verify=hospital_a(exchange_ca))
    assert response.status_code in (400, 500)
    alerts = AuditEvent.objects.filter(event_id="110113", organisation="hospa")
    types = {alert.record["event_type_codes"][0]["display_name"] for alert in alerts}
    # The certificate's registration, then the fault.
    assert types == {"Security Configuration", "Use of Restricted Function"}


@pytest.mark.parametrize("kind", REFUSED_CLIENTS)
def test_a_client_is_refused_in_the_handshake_and_audited(
        webtls: Node, exchange_ca: DemoCertificates, stranger_ca: DemoCertificates, kind: str) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{webtls.https_url}/xds/registry?wsdl",
                  verify=refused_client(kind, exchange_ca, stranger_ca))
    alert = node_authentication_alert(lambda text: text.startswith("HTTPS ")
                                      and REFUSED_CLIENTS[kind] in text)
    assert "from 127.0.0.1 refused" in alert


def test_a_certificate_of_the_exchange_that_no_organisation_holds_gets_403_and_is_audited(
        webtls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    response = httpx.get(f"{webtls.https_url}/xds/registry?wsdl", verify=unclaimed(exchange_ca))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert "belongs to no organisation" in response.text
    alert = node_authentication_alert(lambda text: text.startswith("HTTPS ") and "CN=unclaimed" in text)
    assert "belongs to no active organisation" in alert


def test_plain_http_on_the_web_process_is_unchanged(node: Node) -> None:
    node.start("web")
    response = httpx.get(f"{node.url}/xds/registry?wsdl")
    assert response.status_code == 200


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, object]:
    for name in ("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = procfile_commands()["webtls"].split()
    return runpy.run_path(str(ROOT / config[config.index("--config") + 1]))


def test_webtls_will_not_start_without_all_three_tls_files(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match="TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE"):
        gunicorn_settings(monkeypatch, {"TLS_CERT_FILE": "node.pem", "TLS_KEY_FILE": "node-key.pem"})


def test_webtls_demands_client_certificates_with_the_bcp_195_context(
        monkeypatch: pytest.MonkeyPatch, exchange_ca: DemoCertificates) -> None:
    settings = gunicorn_settings(monkeypatch, {
        "TLS_CERT_FILE": str(exchange_ca.server.cert), "TLS_KEY_FILE": str(exchange_ca.server.key),
        "TLS_CA_FILE": str(exchange_ca.ca.cert), "HTTPS_PORT": "9443"})
    assert settings["bind"] == "127.0.0.1:9443"
    assert settings["cert_reqs"] == ssl.CERT_REQUIRED
    assert settings["worker_class"] == "config.gunicorn_worker.AuthenticatingThreadWorker"
    conf = type("Conf", (), {"certfile": settings["certfile"], "keyfile": settings["keyfile"],
                             "ca_certs": settings["ca_certs"]})()
    make_context = settings["ssl_context"]
    assert callable(make_context)
    context = make_context(conf, None)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert make_context(conf, None) is context  # built once per worker, not per connection
    assert Path(str(settings["ca_certs"])) == exchange_ca.ca.cert
