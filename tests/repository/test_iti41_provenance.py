"""A submission held to the organisation whose certificate sent it (ITI-19): hospital A submits
under its own patient IDs; under hospital B's it is refused with an ebRS AuthorizationException,
nothing is stored, and the attempt is a Security Alert. Through the real webtls process."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from lxml import etree

from audit.models import AuditEvent
from lib.demo_ca import DemoCertificates
from organisations.models import AssigningAuthority, Organisation
from organisations.services import organisation_create
from registry import models as registry_models
from registry import services as registry_services
from registry.ebrim.namespaces import RS
from registry.handlers.iti42 import register_document_set
from repository.models import Document
from soap.envelope import Addressing
from soap.messages import SoapRequest
from tests.registry.submissions import CHIP_MOORE, kos_submission, set_slot
from tests.repository.provide import envelope_of, provide_request, text_submission
from tests.servers.node import Node
from tests.servers.tls import hospital_a
from tests.soap.messages import SOAP12

HOSPA_OID, HOSPB_OID = "1.3.6.1.4.1.21367.13.20.1000", "1.3.6.1.4.1.21367.13.20.2000"
AUTHORIZATION = "urn:oasis:names:tc:ebxml-regrep:ErrorType:AuthorizationException"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"


def hospitals(hospital_a: Organisation | None = None) -> None:
    """Hospital A's and B's MRN authorities; A's organisation may exist already (its certificate)."""
    a = hospital_a or organisation_create(code="hospa", name="Hospital A")
    AssigningAuthority.objects.create(organisation=a, namespace_id="HOSPA", universal_id=HOSPA_OID,
                                      universal_id_type="ISO")
    organisation_create(code="hospb", name="Hospital B", authority_cx4=f"HOSPB&{HOSPB_OID}&ISO")


def under(root: etree._Element, oid: str, mrn: str) -> etree._Element:
    set_slot(root, "sourcePatientId", f"{mrn}^^^&{oid}&ISO")
    return root


@pytest.mark.django_db
def test_an_iti42_under_another_organisations_authority_is_refused_and_an_alert(
        rs_schema: etree.XMLSchema) -> None:
    hospitals()
    registry_services.patient_identity_register(patient_id=CHIP_MOORE)

    def register(organisation: str, oid: str, mrn: str) -> etree._Element:
        answer = register_document_set(SoapRequest(
            endpoint="registry", addressing=Addressing(
                action="urn:ihe:iti:2007:RegisterDocumentSet-b", message_id=f"urn:uuid:{uuid.uuid4()}",
                reply_to="http://hospa.example/xds", to="https://node/xds/registry"),
            body=under(kos_submission(), oid, mrn), attachments={}, folder=Path("/nonexistent"),
            remote_addr="10.1.0.10", mtom=False, organisation_code=organisation)).body
        rs_schema.assertValid(answer)
        return answer

    theirs = register("hospa", HOSPB_OID, "B777")
    own = register("hospa", HOSPA_OID, "A123")
    unknown_authority = register("hospa", "1.2.3.4.99", "X1")
    operators_port = register("", HOSPB_OID, "B777")

    assert theirs.get("status") == FAILURE
    assert [(e.get("errorCode"), e.get("location")) for e in theirs.iter(f"{{{RS}}}RegistryError")] == [
        (AUTHORIZATION, "DocumentEntry Document01 sourcePatientId")]
    assert [a.get("status") for a in (own, unknown_authority, operators_port)] == [SUCCESS] * 3
    assert registry_models.DocumentEntry.objects.count() == 3
    alert = AuditEvent.objects.get(event_id="110113", organisation="hospa")
    assert "ITI-42 from organisation hospa" in str(alert.record) and HOSPB_OID in str(alert.record)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_hospital_a_over_https_provides_under_its_own_mrn_and_not_under_hospital_bs(
        tls_node: Node, exchange_ca: DemoCertificates, hospital_a_certificate: object,
        rs_schema: etree.XMLSchema) -> None:
    webtls = tls_node.start("webtls")
    hospitals(Organisation.objects.get(code="hospa"))
    registry_services.patient_identity_register(patient_id=CHIP_MOORE)

    def provide(oid: str, mrn: str) -> etree._Element:
        request = provide_request(under(text_submission(), oid, mrn), {"Document01": b"a report\n"})
        response = httpx.post(f"{webtls.https_url}/xds/repository", content=request.body, timeout=60,
                              headers={"Content-Type": request.content_type}, verify=hospital_a(exchange_ca))
        assert response.status_code == 200, response.text
        root = envelope_of(response)
        answer = root.find(f"{{{SOAP12}}}Body/{{{RS}}}RegistryResponse")
        assert answer is not None, response.text
        rs_schema.assertValid(answer)
        return answer

    theirs = provide(HOSPB_OID, "B777")
    assert theirs.get("status") == FAILURE
    assert [e.get("errorCode") for e in theirs.iter(f"{{{RS}}}RegistryError")] == [AUTHORIZATION]
    assert not Document.objects.exists() and not registry_models.DocumentEntry.objects.exists()
    store = tls_node.base / "var" / "documents"
    assert not store.exists() or not [p for p in store.rglob("*") if p.is_file()]
    assert any("ITI-41 from organisation hospa" in str(alert.record)
               for alert in AuditEvent.objects.filter(event_id="110113", organisation="hospa"))
    assert AuditEvent.objects.filter(transaction="ITI-41", outcome=8, organisation="hospa").exists()

    assert provide(HOSPA_OID, "A123").get("status") == SUCCESS
    assert Document.objects.count() == 1
