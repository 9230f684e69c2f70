"""The `mllp` process's TLS port (ITI-19): hospital A's interface engine and the peers it refuses."""

from __future__ import annotations

import socket
import ssl

import pytest

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from tests.conftest import needs_node
from tests.mllp.client import MAXIMAL_FEED, control_id, exchange, msa
from tests.servers.node import Node
from tests.servers.tls import (
    REFUSED_CLIENTS,
    hospital_a,
    node_authentication_alert,
    refused_client,
    unclaimed,
)

pytestmark = needs_node


@pytest.fixture
def mllp_tls(tls_node: Node) -> Node:
    return tls_node.start("mllp")


def send_feed(node: Node, context: ssl.SSLContext) -> bytes:
    """The reply to hospital A's feed over TLS; b"" when the node closes without one."""
    with socket.create_connection(("127.0.0.1", node.mllp_tls_port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return exchange(tls, MAXIMAL_FEED.read_bytes())


def refused(node: Node, context: ssl.SSLContext) -> bool:
    """Whether the node turned the peer away: in the handshake (TLS 1.2), or by closing before
    any reply (TLS 1.3 checks the client's certificate after the client's handshake is done)."""
    try:
        return send_feed(node, context) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def test_hospital_a_with_its_registered_certificate_gets_an_ack(
        mllp_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    reply = send_feed(mllp_tls, hospital_a(exchange_ca))
    assert msa(reply) == ("AE", control_id(MAXIMAL_FEED.read_bytes()))
    # ITI-19: the AE is audited under the organisation whose certificate the peer presented.
    assert AuditEvent.objects.filter(event_id="110113", organisation="hospa").exists()


@pytest.mark.parametrize("kind", REFUSED_CLIENTS)
def test_a_client_is_refused_in_the_handshake_and_audited(
        mllp_tls: Node, exchange_ca: DemoCertificates, stranger_ca: DemoCertificates, kind: str) -> None:
    assert refused(mllp_tls, refused_client(kind, exchange_ca, stranger_ca))
    alert = node_authentication_alert(lambda text: text.startswith("MLLP ")
                                      and REFUSED_CLIENTS[kind] in text)
    assert "from 127.0.0.1 refused" in alert


def test_a_certificate_of_the_exchange_that_no_organisation_holds_is_refused_and_audited(
        mllp_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    assert refused(mllp_tls, unclaimed(exchange_ca))
    alert = node_authentication_alert(lambda text: text.startswith("MLLP ") and "CN=unclaimed" in text)
    assert "belongs to no active organisation" in alert


def test_a_peer_stalling_its_handshake_holds_up_no_one_else(
        mllp_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    with socket.create_connection(("127.0.0.1", mllp_tls.mllp_tls_port), timeout=30):
        assert msa(send_feed(mllp_tls, hospital_a(exchange_ca)))[0] == "AE"


def test_the_plain_port_still_answers_beside_the_tls_port(mllp_tls: Node) -> None:
    with socket.create_connection(("127.0.0.1", mllp_tls.mllp_port), timeout=30) as sock:
        assert msa(exchange(sock, MAXIMAL_FEED.read_bytes()))[0] == "AE"


def test_hospital_a_feeds_its_own_patients_and_not_hospital_bs(
        mllp_tls: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object) -> None:
    """ITI-19 says the peer is hospital A: over TLS it feeds under its own assigning authority
    only (ITI TF-2a 3.8.4.1.3). Under hospital B's it gets AE 204, nothing is stored and the
    attempt is a Security Alert."""
    from empi.models import PatientRecord
    from organisations.models import AssigningAuthority, Organisation
    from organisations.services import organisation_create
    from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4, HOSPITAL_B_CX4
    from tests.empi.messages import JANE_AT_A, JANE_AT_B, adt

    namespace, oid, kind = HOSPITAL_A_CX4.split("&")
    AssigningAuthority.objects.create(organisation=Organisation.objects.get(code="hospa"),
                                      namespace_id=namespace, universal_id=oid, universal_id_type=kind)
    organisation_create(code="hospb", name="Hospital B", authority_cx4=HOSPITAL_B_CX4)
    organisation_create(code="hie", name="The exchange", authority_cx4=AFFINITY_CX4,
                        is_affinity_domain=True)
    context = hospital_a(exchange_ca)
    with socket.create_connection(("127.0.0.1", mllp_tls.mllp_tls_port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        theirs = exchange(tls, adt("A04", JANE_AT_B, control="B1"))
        own = exchange(tls, adt("A04", JANE_AT_A, control="A1"))

    assert msa(theirs) == ("AE", "B1") and b"204" in theirs
    assert msa(own) == ("AA", "A1")
    assert list(PatientRecord.objects.values_list("identifier", flat=True)) == ["A123"]
    alerts = [str(event.record) for event in AuditEvent.objects.filter(event_id="110113")]
    assert any("ITI-8 from organisation hospa" in text and "another organisation" in text
               for text in alerts)
