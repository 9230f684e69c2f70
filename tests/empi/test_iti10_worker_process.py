"""ITI-10 through the node's own processes: feeds over MLLP to `mllp`, the notification sent by
`worker` to hospital A's PIX consumer listening on loopback."""

from __future__ import annotations

import time

import pytest

from empi.models import PatientRecord, PixConsumer
from organisations.models import AssigningAuthority, Organisation
from organisations.services import demo_bootstrap
from tests.conftest import needs_node
from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4
from tests.empi.messages import JANE_AT_A, JANE_AT_B, adt, cx, field
from tests.empi.test_iti10_notification import Listener
from tests.mllp.client import connect, exchange
from tests.servers.node import Node

pytestmark = needs_node


@pytest.fixture
def running(node: Node, transactional_db: None) -> Node:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    return node.start("mllp", "worker")


def test_the_worker_tells_hospital_as_consumer_that_bs_record_joined_jane(running: Node) -> None:
    listener = Listener()
    try:
        hospital_a = AssigningAuthority.objects.get(universal_id="1.3.6.1.4.1.21367.13.20.1000")
        consumer = PixConsumer.objects.create(
            organisation=Organisation.objects.get(assigning_authorities=hospital_a),
            host="127.0.0.1", port=listener.port, receiving_application="HOSPA_PIX",
            receiving_facility="HOSPA")
        consumer.domains.set([hospital_a, AssigningAuthority.objects.get(is_affinity_domain=True)])
        with connect(running.mllp_port) as sock:
            assert field(exchange(sock, adt("A04", JANE_AT_A)), "MSA", 1) == "AA"
            assert field(exchange(sock, adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB")),
                         "MSA", 1) == "AA"
        deadline = time.monotonic() + 60
        while len(listener.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(listener.received) >= 2, "the worker sent no ADT^A31 within a minute"
        enterprise = PatientRecord.objects.get(identifier="B777").person.enterprise_id.split("^")[0]
        identifiers = {i for message in listener.received for i in field(message, "PID", 3).split("~")}
        assert identifiers == {cx("A123", HOSPITAL_A_CX4),
                               f"{enterprise}^^^{AssigningAuthority.objects.get(is_affinity_domain=True).cx4}"}
        assert all(field(m, "MSH", 9) == "ADT^A31^ADT_A05" for m in listener.received)
    finally:
        listener.close()
