"""ITI-46 PIXV3 Update Notification on the wire (ITI TF-2b 3.46): PRPA_IN201302UV02 to a PIXv3
consumer in a SOAP 1.2 request, its MCCI_IN000002UV01 read back.

`soap_send` is the one seam through which the EMPI posts SOAP to the outside.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import requests
from django.conf import settings
from django.utils import timezone
from lxml import etree

from organisations.models import AssigningAuthority
from soap.namespaces import SOAP12, WSA, WSA_ANONYMOUS, qname
from soap.xml import XmlRejected, parse_xml

HL7 = "urn:hl7-org:v3"
INTERACTION = "PRPA_IN201302UV02"
ACTION = f"urn:hl7-org:v3:{INTERACTION}"
ACKNOWLEDGEMENT = "MCCI_IN000002UV01"
INTERACTION_ROOT = "2.16.840.1.113883.1.6"  # HL7 interaction identifiers
SEND_TIMEOUT_SECONDS = 30.0


class NoAcknowledgement(ConnectionError):
    """The consumer answered neither an acknowledgement nor a SOAP fault: tried again later."""


def _q(local: str) -> str:
    return f"{{{HL7}}}{local}"


def _sub(parent: etree._Element, local: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, _q(local), attributes)


def pix_update_notify(*, endpoint: str, receiver_device: str,
                      identifiers: Sequence[tuple[AssigningAuthority, str]], message_id: str) -> str:
    """Sends the PRPA_IN201302UV02 of `identifiers`; the typeCode the consumer acknowledged it
    with, or "" for a SOAP fault. Raises OSError when no answer comes back."""
    body = patient_registry_record_revised(identifiers=identifiers, receiver_device=receiver_device,
                                           message_id=message_id)
    reply = soap_send(url=endpoint, action=ACTION, message=envelope(action=ACTION, to=endpoint, body=body))
    return acknowledgement_code(reply)


def manager_oid() -> str:
    """The PIX Manager's own id: the affinity domain's universal id (`NS&OID&ISO`)."""
    parts = settings.AFFINITY_DOMAIN_AUTHORITY.split("&")
    return parts[1] if len(parts) == 3 and parts[1] else settings.AFFINITY_DOMAIN_AUTHORITY


def patient_registry_record_revised(*, identifiers: Sequence[tuple[AssigningAuthority, str]],
                                    receiver_device: str, message_id: str) -> etree._Element:
    """PRPA_IN201302UV02 as ITI TF-2b 3.46.4.1.2 constrains it: the patient's identifiers in the
    consumer's domains and nothing of their demographics (Person.name is nullFlavor NA)."""
    root = etree.Element(_q(INTERACTION), nsmap={None: HL7})  # type: ignore[dict-item]  # the default namespace
    root.set("ITSVersion", "XML_1.0")
    _sub(root, "id", root=message_id)
    _sub(root, "creationTime", value=timezone.now().strftime("%Y%m%d%H%M%S"))
    _sub(root, "interactionId", root=INTERACTION_ROOT, extension=INTERACTION)
    _sub(root, "processingCode", code="P")
    _sub(root, "processingModeCode", code="T")
    # ITI TF-2b 3.46.4.2: the consumer answers with an accept acknowledgement, always.
    _sub(root, "acceptAckCode", code="AL")
    _device(_sub(root, "receiver", typeCode="RCV"), receiver_device)
    _device(_sub(root, "sender", typeCode="SND"), manager_oid())
    control = _sub(root, "controlActProcess", classCode="CACT", moodCode="EVN")
    _sub(control, "code", code="PRPA_TE201302UV02", codeSystem=INTERACTION_ROOT)
    event = _sub(_sub(control, "subject", typeCode="SUBJ"), "registrationEvent", classCode="REG",
                 moodCode="EVN")
    _sub(event, "id", nullFlavor="NA")
    _sub(event, "statusCode", code="active")
    patient = _sub(_sub(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    for authority, identifier in identifiers:
        attributes = {"root": authority.universal_id, "extension": identifier}
        if authority.namespace_id:
            attributes["assigningAuthorityName"] = authority.namespace_id
        _sub(patient, "id", **attributes)
    _sub(patient, "statusCode", code="active")
    person = _sub(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    _sub(person, "name", nullFlavor="NA")
    # The PIX Manager is the custodian of the cross-reference it notifies.
    custodian = _sub(_sub(event, "custodian", typeCode="CST"), "assignedEntity", classCode="ASSIGNED")
    _sub(custodian, "id", root=manager_oid())
    return root


def _device(parent: etree._Element, root: str) -> None:
    device = _sub(parent, "device", classCode="DEV", determinerCode="INSTANCE")
    if root:
        _sub(device, "id", root=root)
    else:
        _sub(device, "id", nullFlavor="UNK")


def envelope(*, action: str, to: str, body: etree._Element) -> bytes:
    """A SOAP 1.2 request with the WS-Addressing headers of ITI TF-2 Appendix V."""
    root = etree.Element(qname(SOAP12, "Envelope"), nsmap={"env": SOAP12, "wsa": WSA})
    header = etree.SubElement(root, qname(SOAP12, "Header"))
    action_element = etree.SubElement(header, qname(WSA, "Action"))
    action_element.set(qname(SOAP12, "mustUnderstand"), "true")
    action_element.text = action
    etree.SubElement(header, qname(WSA, "MessageID")).text = f"urn:uuid:{uuid.uuid4()}"
    reply_to = etree.SubElement(header, qname(WSA, "ReplyTo"))
    etree.SubElement(reply_to, qname(WSA, "Address")).text = WSA_ANONYMOUS
    etree.SubElement(header, qname(WSA, "To")).text = to
    etree.SubElement(root, qname(SOAP12, "Body")).append(body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def soap_send(*, url: str, action: str, message: bytes, timeout: float = SEND_TIMEOUT_SECONDS) -> bytes:
    """One SOAP 1.2 request; the response's bytes. Raises OSError (requests' errors are
    OSErrors, NoAcknowledgement among them) when no SOAP answer comes back."""
    response = requests.post(url, data=message, timeout=timeout, allow_redirects=False, headers={
        "Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'})
    # SOAP 1.2 Part 2, 7.5.1.2: a fault comes back with 400 or 500; anything else is no answer.
    if response.status_code not in (200, 400, 500):
        raise NoAcknowledgement(f"the consumer answered HTTP {response.status_code}")
    return response.content


def acknowledgement_code(reply: bytes) -> str:
    """The typeCode of the MCCI_IN000002UV01 in `reply`; "" for a SOAP fault. Raises
    NoAcknowledgement when the reply is not a SOAP envelope at all."""
    try:
        root = parse_xml(reply)
    except XmlRejected as exc:
        raise NoAcknowledgement(f"the consumer's answer is not XML: {exc}") from None
    body = root.find(qname(SOAP12, "Body"))
    if root.tag != qname(SOAP12, "Envelope") or body is None:
        raise NoAcknowledgement("the consumer's answer is not a SOAP 1.2 envelope")
    type_code = body.find(f"{_q(ACKNOWLEDGEMENT)}/{_q('acknowledgement')}/{_q('typeCode')}")
    return (type_code.get("code") or "") if type_code is not None else ""
