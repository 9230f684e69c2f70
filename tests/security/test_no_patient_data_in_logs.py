"""No patient data in the node's logs: a patient is fed, published, found and cross-referenced
through the node's own processes at LOG_LEVEL=DEBUG, and nothing any process wrote to its log
names her, her MRN or her birth date (ITI TF-2: the audit trail, not the logs, says who was
accessed; the logs go to people who may not see patients)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from empi.models import PatientRecord
from organisations.services import demo_bootstrap
from registry.ebrim.namespaces import SUCCESS
from tests.conftest import ON_POSTGRES, needs_node
from tests.empi.conftest import AFFINITY_CX4, HOSPITAL_A_CX4
from tests.empi.messages import adt, cx, field, pid3, qbp, segment_text
from tests.mllp.client import connect, exchange
from tests.registry.factories import stored_query
from tests.repository.provide import errors_of, post, provide_request, text_submission
from tests.servers.node import Node
from tests.soap.messages import envelope

pytestmark = needs_node

# A patient no other test has: her name, MRN and birth date found in a log could come only from here.
MRN, FAMILY, GIVEN, BIRTH = "Q9X7K2", "ZYLBERSTEIN", "QUILLONETTA", "19370214"
PATIENT = (MRN, HOSPITAL_A_CX4, f"{FAMILY}^{GIVEN}^V", BIRTH, "F",
           "7 VELLUM ROW^^OXTON^^99999", "555-0199-876")
FORBIDDEN = (MRN, FAMILY, GIVEN, BIRTH, "1937-02-14", "VELLUM ROW", "555-0199-876")
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
APPROVED = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"


@pytest.fixture
def debug_node(node_environment: dict[str, str],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node of its own at LOG_LEVEL=DEBUG, with its own broker so that its worker takes only
    its own tasks; stopped before the test's data is flushed."""
    base = tmp_path_factory.mktemp("debug-node")
    broker = (re.sub(r"/\d+$", "/4", node_environment["CELERY_BROKER_URL"]) if ON_POSTGRES
              else f"sqla+sqlite:///{base / 'broker.sqlite3'}")
    running = Node(base=base, env={**node_environment, "LOG_LEVEL": "DEBUG",
                                   "CELERY_BROKER_URL": broker})
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    yield running.start("web", "mllp", "worker")
    running.stop()


def _submission(enterprise_id: str) -> etree._Element:
    """Hospital A's report of her, with her demographics in sourcePatientInfo (ITI TF-3 4.2.3.2.23)."""
    root = text_submission(patient_id=enterprise_id)
    authority = HOSPITAL_A_CX4.split("&", 1)[1]
    values = [f"PID-3|{MRN}^^^&{authority}", f"PID-5|{FAMILY}^{GIVEN}^^^", f"PID-7|{BIRTH}", "PID-8|F"]
    for slot in root.iter("{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}Slot"):
        if slot.get("name") == "sourcePatientInfo":
            value_list = slot[0]
            for old in list(value_list):
                value_list.remove(old)
            for text in values:
                etree.SubElement(value_list, old.tag).text = text
    return root


def test_a_patients_story_at_debug_level_leaves_no_patient_data_in_any_log(debug_node: Node) -> None:
    from tests.repository.provide import xdsb_schema

    # ITI-8: hospital A registers her.
    with connect(debug_node.mllp_port) as sock:
        # A control ID of its own: the message builder's default is made of the MRN, and MSH-10 is logged.
        fed = exchange(sock, adt("A04", PATIENT, control="FEED1"))
    assert field(fed, "MSA", 1) == "AA", segment_text(fed, "ERR")
    enterprise_id = PatientRecord.objects.get(identifier=MRN).person.enterprise_id

    with httpx.Client(base_url=debug_node.url, timeout=60) as http:
        # ITI-41: hospital A publishes a report of her.
        answer = post(http, provide_request(_submission(enterprise_id), {"Document01": b"no findings"}),
                      xdsb_schema())
        assert answer.get("status") == SUCCESS, errors_of(answer)
        # ITI-18: a consumer finds it by her enterprise ID.
        query = stored_query(FIND_DOCUMENTS, {"$XDSDocumentEntryPatientId": f"'{enterprise_id}'",
                                              "$XDSDocumentEntryStatus": APPROVED}).decode()
        found = http.post("/xds/registry",
                          content=envelope(query, action="urn:ihe:iti:2007:RegistryStoredQuery"),
                          headers={"Content-Type": "application/soap+xml; charset=utf-8"})
        assert found.status_code == 200 and b"ExtrinsicObject" in found.content

    # ITI-9: hospital A's MRN cross-referenced; then a feed the node refuses (an authority
    # outside the domain), whose refusal is logged and audited.
    with connect(debug_node.mllp_port) as sock:
        crossed = exchange(sock, qbp(cx(MRN, HOSPITAL_A_CX4), sender="HOSPA_HIS^HOSPA"))
        refused = exchange(sock, adt("A04", (MRN, "ELSEWHERE&1.2.3.999&ISO", *PATIENT[2:]),
                                     control="FEED2"))
    # ITI TF-2a 3.9.4.2.2.6: the answer lists her identifiers in the other domains.
    assert f"{enterprise_id.split('^')[0]}^^^{AFFINITY_CX4}" in pid3(crossed)
    assert field(refused, "MSA", 1) in ("AE", "AR")

    logs = sorted(debug_node.base.glob("*.log"))
    assert {path.stem for path in logs} >= {"web", "mllp", "worker"}
    assert any(b"DEBUG" in path.read_bytes() for path in logs), "nothing was logged at DEBUG"
    assert _mentions(logs) == []


def _mentions(logs: list[Path]) -> list[str]:
    found = []
    for path in logs:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for forbidden in FORBIDDEN:
                if forbidden.lower() in line.lower():
                    found.append(f"{path.name}:{number}: {forbidden} in {line[:300]}")
    return found
