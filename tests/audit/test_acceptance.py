"""The node as an ATNA Secure Node: what its edges refuse or accept reaches a real audit repository.

Every process of the node runs (web, worker, beat, mllp, dicom), forwarding to a real rsyslogd
over mutual TLS (RFC 5425, ITI-19). Each test drives one transaction over the wire and finds its
audit message in the repository's file: an RFC 5424 message as ITI TF-2 3.20.6 profiles it,
carrying an AuditMessage the DICOM 2017c schema accepts (PS3.15 A.5).
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from lxml import etree
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from lib.demo_ca import DemoCertificates, write_demo_certs
from tests.audit.test_forwarding import audit_environment, own_broker, stop_worker
from tests.audit.test_syslog import BOM, Received, parse
from tests.conftest import needs_node
from tests.mllp.client import connect, exchange, msa
from tests.servers.node import ROOT, Node
from tests.servers.rsyslog import RsyslogServer, start_rsyslog
from tests.soap.messages import envelope

pytestmark = needs_node

SCHEMA = ROOT.parent / "shared" / "ihe" / "schema" / "dicom-audit" / "dicom2017c.xsd"
# rsyslog writes control characters escaped: the line break after the XML declaration is #012.
ESCAPED = re.compile(rb"#(0[0-3][0-7])")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


@pytest.fixture(scope="module")
def hie(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    return write_demo_certs(tmp_path_factory.mktemp("hie"), clients=["hienode"])


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory, hie: DemoCertificates) -> Iterator[RsyslogServer]:
    """The exchange's audit record repository: trusts the node's certificate, and only such."""
    server = start_rsyslog(tmp_path_factory.mktemp("rsyslog"), certs=hie.ca.cert.parent)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secure_node(tmp_path_factory: pytest.TempPathFactory, node_environment: dict[str, str],
                hie: DemoCertificates, repository: RsyslogServer) -> Iterator[Node]:
    """The whole node, forwarding its audit trail to `repository` (beat every second)."""
    base = tmp_path_factory.mktemp("secure-node")
    running = Node(base=base, env={**node_environment, **own_broker(node_environment, base, 2),
                                   **audit_environment(hie, repository.port),
                                   "AUDIT_FORWARD_SECONDS": "1"})
    running.start("web", "worker", "beat", "mllp", "dicom")
    yield running
    stop_worker(running)
    running.stop()


def audit_line(repository: RsyslogServer, marker: bytes, timeout: float = 30) -> Received:
    """The one message carrying `marker`, checked against ITI TF-2 3.20.6 on the way."""
    found = repository.wait_for(lambda lines: any(marker in line for line in lines), timeout=timeout)
    [line] = [line for line in found if marker in line]
    received = parse(line)
    assert (received.pri, received.version) == (85, 1)  # authpriv.notice, RFC 5424 VERSION 1
    assert received.msgid == b"IHE+RFC-3881"
    assert re.fullmatch(rb'\[meta sequenceId="[1-9]\d*"\]', received.structured_data)
    assert received.hostname == settings.AUDIT_HOSTNAME.encode()
    assert received.app_name == settings.AUDIT_APP_NAME.encode()
    assert received.msg.startswith(BOM)
    return received


def audit_message(received: Received, schema: etree.XMLSchema) -> etree._Element:
    xml = ESCAPED.sub(lambda m: bytes([int(m[1], 8)]), received.msg.removeprefix(BOM))
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    return document


def code(element: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    assert element is not None
    return element.get("csd-code"), element.get("codeSystemName"), element.get("originalText")


def outcome(message: etree._Element) -> str | None:
    return message.find("EventIdentification").get("EventOutcomeIndicator")  # type: ignore[union-attr]


def requestor(message: etree._Element) -> etree._Element:
    [participant] = message.findall("ActiveParticipant[@UserIsRequestor='true']")
    return participant


def test_a_soap_request_for_an_unknown_action_reaches_the_repository_as_a_security_alert(
        secure_node: Node, repository: RsyslogServer, schema: etree.XMLSchema) -> None:
    action = f"urn:acceptance:{uuid.uuid4().hex}"
    response = httpx.post(f"{secure_node.url}/xds/registry", content=envelope("<x/>", action=action),
                          headers={"Content-Type": "application/soap+xml"}, timeout=30)
    assert b"ActionNotSupported" in response.content

    message = audit_message(audit_line(repository, action.encode()), schema)
    assert code(message.find("EventIdentification/EventID")) == ("110113", "DCM", "Security Alert")
    assert code(message.find("EventIdentification/EventTypeCode")) == (
        "110132", "DCM", "Use of Restricted Function")
    assert outcome(message) == "4"  # a Sender fault: the node held
    performer = requestor(message)
    assert performer.get("UserID") == "127.0.0.1"
    assert (performer.get("NetworkAccessPointID"), performer.get("NetworkAccessPointTypeCode")) == (
        "127.0.0.1", "2")
    subject = message.find("ParticipantObjectIdentification")
    assert subject is not None
    assert subject.get("ParticipantObjectID") == f"{secure_node.url}/xds/registry"
    assert code(subject.find("ParticipantObjectIDTypeCode"))[0] == "12"  # URI


def test_an_hl7_message_the_listener_refuses_reaches_the_repository_as_a_security_alert(
        secure_node: Node, repository: RsyslogServer, schema: etree.XMLSchema) -> None:
    control = f"ACC{uuid.uuid4().hex[:12]}"
    unsupported = (f"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101120000||ZZZ^Z01|{control}|P|2.5\r"
                   "EVN||20250101120000\r").encode()
    with connect(secure_node.mllp_port) as sock:
        local_port = sock.getsockname()[1]
        assert msa(exchange(sock, unsupported)) == ("AE", control)

    message = audit_message(audit_line(repository, control.encode()), schema)
    assert code(message.find("EventIdentification/EventID")) == ("110113", "DCM", "Security Alert")
    assert code(message.find("EventIdentification/EventTypeCode"))[0] == "110132"
    assert control in (message.findtext("EventIdentification/EventOutcomeDescription") or "")
    performer = requestor(message)
    assert performer.get("UserID") == f"127.0.0.1:{local_port}"  # the peer, as the listener saw it
    assert performer.get("NetworkAccessPointID") == "127.0.0.1"
    subject = message.find("ParticipantObjectIdentification")
    assert subject is not None and subject.get("ParticipantObjectID") == "127.0.0.1"


def test_a_c_echo_reaches_the_repository_as_the_calling_ae_titles_authentication(
        secure_node: Node, repository: RsyslogServer, schema: etree.XMLSchema) -> None:
    calling = f"ACC{uuid.uuid4().hex[:8].upper()}"
    modality = AE(ae_title=calling)
    modality.add_requested_context(Verification)
    modality.acse_timeout = modality.dimse_timeout = modality.network_timeout = 10
    association = modality.associate("127.0.0.1", secure_node.dicom_port, ae_title="HIENODE")
    assert association.is_established
    try:
        assert association.send_c_echo().Status == 0x0000
    finally:
        association.release()

    message = audit_message(audit_line(repository, f'UserID="{calling}"'.encode()), schema)
    assert code(message.find("EventIdentification/EventID")) == ("110114", "DCM", "User Authentication")
    assert code(message.find("EventIdentification/EventTypeCode")) == ("110122", "DCM", "Login")
    assert outcome(message) == "0"
    user = requestor(message)
    assert user.get("UserID") == calling
    assert user.get("NetworkAccessPointID") == "127.0.0.1"
    [node] = message.findall("ActiveParticipant[@UserIsRequestor='false']")
    assert node.get("NetworkAccessPointID") == socket.gethostname()
    source = message.find("AuditSourceIdentification")
    assert source is not None and source.get("AuditSourceID") == settings.DICOM_AE_TITLE
