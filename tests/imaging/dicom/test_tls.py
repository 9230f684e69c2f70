"""The `dicom` process's TLS port (PS3.15 B.1, ITI-19): hospital A's PACS and the peers it refuses."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from tests.conftest import needs_node
from tests.imaging.dicom.scu import HOSPITAL_A_PACS, association
from tests.servers.node import Node
from tests.servers.process import require_dcmtk
from tests.servers.tls import (
    REFUSED_CLIENTS,
    hospital_a,
    node_authentication_alert,
    refused_client,
    unclaimed,
)

pytestmark = needs_node


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def dicom_tls(tls_node: Node) -> Node:
    return tls_node.start("dicom")


def test_hospital_a_with_its_registered_certificate_gets_a_c_echo_answered(
        dicom_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    with association(dicom_tls.dicom_tls_port, tls=hospital_a(exchange_ca)) as assoc:
        assert assoc.is_established
        assert int(assoc.send_c_echo().Status) == 0x0000
    # ITI-19: the audit names the organisation whose certificate the peer presented.
    assert wait_until(lambda: AuditEvent.objects.filter(event_id="110114", organisation="hospa").exists())


def test_dcmtk_echoscu_over_tls_with_hospital_as_certificate_gets_an_answer(
        dicom_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    client = exchange_ca.clients["hospa"]
    result = subprocess.run(
        [require_dcmtk("echoscu"), "+tls", str(client.key), str(client.cert),
         "+cf", str(exchange_ca.ca.cert), "-aet", HOSPITAL_A_PACS, "-aec", "HIENODE",
         "127.0.0.1", str(dicom_tls.dicom_tls_port)],
        env={**os.environ, "TCP_NODELAY": "1"}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("kind", REFUSED_CLIENTS)
def test_a_client_is_refused_in_the_handshake_and_audited(
        dicom_tls: Node, exchange_ca: DemoCertificates, stranger_ca: DemoCertificates, kind: str) -> None:
    with association(dicom_tls.dicom_tls_port,
                     tls=refused_client(kind, exchange_ca, stranger_ca)) as assoc:
        assert not assoc.is_established
    alert = node_authentication_alert(lambda text: text.startswith("DICOM ")
                                      and REFUSED_CLIENTS[kind] in text)
    assert "from 127.0.0.1 refused" in alert


def test_a_certificate_of_the_exchange_that_no_organisation_holds_is_refused_and_audited(
        dicom_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    with association(dicom_tls.dicom_tls_port, tls=unclaimed(exchange_ca)) as assoc:
        assert not assoc.is_established
    alert = node_authentication_alert(lambda text: text.startswith("DICOM ") and "CN=unclaimed" in text)
    assert "belongs to no active organisation" in alert


def test_a_peer_stalling_its_handshake_holds_up_no_one_else(
        dicom_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    with socket.create_connection(("127.0.0.1", dicom_tls.dicom_tls_port), timeout=30), \
            association(dicom_tls.dicom_tls_port, tls=hospital_a(exchange_ca)) as assoc:
        assert assoc.is_established


def test_the_plain_port_still_answers_beside_the_tls_port(dicom_tls: Node) -> None:
    with association(dicom_tls.dicom_port) as assoc:
        assert assoc.is_established
        assert int(assoc.send_c_echo().Status) == 0x0000
