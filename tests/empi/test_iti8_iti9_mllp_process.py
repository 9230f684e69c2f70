"""The story over the wire: the node's `mllp` process takes hospital A's and B's feeds, IPF's
example feeds, and answers PIX queries, as a hospital's interface engine sees it."""

from __future__ import annotations

import pytest

from empi.models import PatientRecord
from organisations.models import AssigningAuthority
from organisations.services import demo_bootstrap, organisation_create
from registry.models import PatientIdentity
from tests.conftest import needs_node
from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4, HOSPITAL_B_CX4
from tests.empi.messages import (
    FEED_MERGE,
    FEED_REGISTER,
    FEED_REVISE,
    JANE_AT_A,
    JANE_AT_B,
    adt,
    cx,
    field,
    pid3,
    qbp,
    segment_text,
)
from tests.mllp.client import connect, exchange
from tests.servers.node import Node

pytestmark = needs_node


@pytest.fixture
def mllp(node: Node, transactional_db: None) -> Node:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    organisation_create(code="himss", name="HIMSS 2005",
                        authority_cx4="HIMSS2005&1.3.6.1.4.1.21367.2005.1.1&ISO")
    organisation_create(code="demo1000", name="Demo 1000", authority_cx4="&1.2.3.4.5.1000&ISO")
    organisation_create(code="domain1", name="Domain 1", authority_cx4="domain1&1.2.3.4.666&ISO")
    return node.start("mllp")


def test_hospital_a_and_b_register_jane_and_b_finds_as_mrn_over_mllp(mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        assert field(exchange(sock, adt("A04", JANE_AT_A)), "MSA", 1) == "AA"
        assert field(exchange(sock, adt("A04", JANE_AT_B, sender="HOSPB_HIS^HOSPB")), "MSA", 1) == "AA"
        reply = exchange(sock, qbp(cx("B777", HOSPITAL_B_CX4)))
    person = PatientRecord.objects.get(identifier="A123").person
    assert PatientRecord.objects.get(identifier="B777").person == person
    assert PatientIdentity.objects.filter(patient_id=person.enterprise_id).exists()
    affinity = AssigningAuthority.objects.get(is_affinity_domain=True)
    assert pid3(reply) == {cx("A123", HOSPITAL_A_CX4),
                           f"{person.enterprise_id.split('^')[0]}^^^{affinity.cx4}"}


def test_ipfs_example_feeds_are_acknowledged_over_mllp(mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        for example in (FEED_REGISTER, FEED_REVISE):
            reply = exchange(sock, example.read_bytes())
            assert field(reply, "MSA", 1) == "AA", segment_text(reply, "ERR")
        subsumed = adt("A04", ("120-02", "domain1&1.2.3.4.666&ISO", "WASHINGTON^MARY", "19771208",
                               "F", "", ""))
        assert field(exchange(sock, subsumed), "MSA", 1) == "AA"
        reply = exchange(sock, FEED_MERGE.read_bytes())
        assert field(reply, "MSA", 1) == "AA", segment_text(reply, "ERR")
        answer = exchange(sock, qbp("120-02^^^domain1&1.2.3.4.666&ISO"))
        # A stranger's domain in QPD-3 is an error at QPD-3, component 4.
        unknown = exchange(sock, qbp("79234^^^&2.16.840.1.113883.3.37.4.1.1.2.411.1&ISO"))
    assert PatientRecord.objects.get(identifier="PIX10515W3").family == "WASHINGTON UPDATE"
    assert PatientRecord.objects.get(identifier="120-01").person == (
        PatientRecord.objects.get(identifier="120-02").person)
    assert "PIX10515W3^^^HIMSS2005&1.3.6.1.4.1.21367.2005.1.1&ISO" in pid3(answer)
    assert (field(unknown, "MSA", 1), field(unknown, "ERR", 2)) == ("AE", "QPD^1^3^1^4")
