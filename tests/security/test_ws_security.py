"""A WS-Security header carrying a SAML assertion with a wrapped signature (XML Signature
Wrapping: the signed assertion moved aside, a forged one in its place) sent by hospital A over
HTTPS. The node offers no XUA (ITI-40) X-Service Provider: identity is the TLS certificate's
organisation alone (ITI-19), so the forged assertion can claim nothing.

- Marked mustUnderstand, as XUA requires (ITI TF-2b 3.40.4.1.2), the header is answered
  env:MustUnderstand (SOAP 1.2 Part 1, 5.2.3), audited, nothing stored.
- Not marked, it is ignored (SOAP 1.2 Part 1, 5.2.1): the submission is still held to hospital
  A, and one under hospital B's patient IDs is refused whatever the assertion says.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from lxml import etree

from lib.demo_ca import DemoCertificates
from organisations.models import AssigningAuthority, Organisation
from organisations.services import organisation_create
from registry import models as registry_models
from registry import services as registry_services
from registry.ebrim.namespaces import RS
from repository.models import Document
from tests.registry.submissions import CHIP_MOORE, set_slot
from tests.repository.provide import ACTION, SCHEMAS, envelope_of, provide_body, text_submission
from tests.security.conftest import security_alerts
from tests.servers.node import Node
from tests.servers.tls import hospital_a
from tests.soap.messages import SOAP12, WSA, mtom

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HOSPA_OID, HOSPB_OID = "1.3.6.1.4.1.21367.13.20.1000", "1.3.6.1.4.1.21367.13.20.2000"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


def wrapped_assertion(must_understand: bool) -> str:
    """The attacker's header: a forged assertion naming hospital B's user, and the signature of
    a genuine assertion (ID "genuine") hidden in an element no schema processes."""
    flag = ' s:mustUnderstand="true"' if must_understand else ""
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}"{flag}>'
        f'<saml:Assertion xmlns:saml="{SAML}" ID="forged" Version="2.0" IssueInstant="2026-11-23T08:00:00Z">'
        "<saml:Issuer>https://idp.hospb.example</saml:Issuer>"
        "<saml:Subject><saml:NameID>dr.mallory@hospb</saml:NameID></saml:Subject>"
        '<saml:AttributeStatement><saml:Attribute Name="urn:oasis:names:tc:xspa:1.0:subject:organization-id">'
        f"<saml:AttributeValue>urn:oid:{HOSPB_OID}</saml:AttributeValue></saml:Attribute>"
        "</saml:AttributeStatement></saml:Assertion>"
        f'<wsse:Wrapper><saml:Assertion xmlns:saml="{SAML}" ID="genuine" Version="2.0" '
        'IssueInstant="2026-11-23T07:00:00Z"><saml:Issuer>https://idp.hospa.example</saml:Issuer>'
        f'<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo><ds:Reference URI="#genuine">'
        "<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>"
        "<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
        "</saml:Assertion></wsse:Wrapper></wsse:Security>")


def provide(webtls: Node, exchange_ca: DemoCertificates, *, source_oid: str, mrn: str,
            must_understand: bool) -> httpx.Response:
    submit = text_submission()
    set_slot(submit, "sourcePatientId", f"{mrn}^^^&{source_oid}&ISO")
    body, attachments = provide_body(submit, {"Document01": b"a report\n"})
    xml = (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
           f'<wsa:Action s:mustUnderstand="true">{ACTION}</wsa:Action>'
           f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
           "<wsa:To>https://localhost/xds/repository</wsa:To>"
           f"{wrapped_assertion(must_understand)}</s:Header>"
           f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>").encode()
    content_type, data = mtom(xml, attachments)
    return httpx.post(f"{webtls.https_url}/xds/repository", content=data, timeout=60,
                      headers={"Content-Type": content_type}, verify=hospital_a(exchange_ca))


@pytest.fixture
def webtls(tls_node: Node, hospital_a_certificate: object) -> Node:
    hospital = Organisation.objects.get(code="hospa")
    AssigningAuthority.objects.create(organisation=hospital, namespace_id="HOSPA", universal_id=HOSPA_OID,
                                      universal_id_type="ISO")
    organisation_create(code="hospb", name="Hospital B", authority_cx4=f"HOSPB&{HOSPB_OID}&ISO")
    registry_services.patient_identity_register(patient_id=CHIP_MOORE)
    return tls_node.start("webtls")


def registry_response(response: httpx.Response) -> etree._Element:
    assert response.status_code == 200, response.text
    answer = envelope_of(response).find(f"{{{SOAP12}}}Body/{{{RS}}}RegistryResponse")
    assert answer is not None, response.text
    etree.XMLSchema(etree.parse(str(SCHEMAS / "ebRS30" / "rs.xsd"))).assertValid(answer)
    return answer


def test_a_wrapped_assertion_marked_must_understand_is_a_must_understand_fault_and_nothing_is_stored(
        webtls: Node, exchange_ca: DemoCertificates) -> None:
    response = provide(webtls, exchange_ca, source_oid=HOSPA_OID, mrn="A123", must_understand=True)

    assert response.status_code == 500
    root = envelope_of(response)
    assert root.findtext(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value") \
        == "env:MustUnderstand"
    not_understood = root.find(f"{{{SOAP12}}}Header/{{{SOAP12}}}NotUnderstood")
    assert not_understood is not None and not_understood.get("qname", "").endswith(":Security")
    assert not Document.objects.exists() and not registry_models.DocumentEntry.objects.exists()
    assert security_alerts("SOAP fault MustUnderstand")


def test_a_wrapped_assertion_not_marked_is_ignored_and_the_certificate_decides(
        webtls: Node, exchange_ca: DemoCertificates) -> None:
    as_hospital_b = registry_response(
        provide(webtls, exchange_ca, source_oid=HOSPB_OID, mrn="B777", must_understand=False))
    as_hospital_a = registry_response(
        provide(webtls, exchange_ca, source_oid=HOSPA_OID, mrn="A123", must_understand=False))

    assert [e.get("errorCode") for e in as_hospital_b.iter(f"{{{RS}}}RegistryError")] == [
        "urn:oasis:names:tc:ebxml-regrep:ErrorType:AuthorizationException"]
    assert as_hospital_a.get("status") == "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    assert list(registry_models.DocumentEntry.objects.values_list("source_patient_id", flat=True)) == [
        f"A123^^^&{HOSPA_OID}&ISO"]
