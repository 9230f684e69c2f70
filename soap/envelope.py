"""SOAP 1.2 envelopes with WS-Addressing 1.0 headers: read a request's, write a response's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lxml import etree

from soap import faults
from soap.namespaces import SOAP11, SOAP12, WSA, WSA_ANONYMOUS, WSA_NONE, qname

_TRUE = {"true", "1"}


@dataclass(frozen=True)
class Addressing:
    """The WS-Addressing message addressing properties of a request."""

    action: str
    message_id: str | None
    reply_to: str | None
    to: str | None


@dataclass(frozen=True)
class Envelope:
    root: etree._Element
    addressing: Addressing
    body: etree._Element  # the first element child of env:Body


def read_envelope(root: etree._Element) -> Envelope:
    """Check the envelope's version and headers; the faults are SOAP 1.2 Part 1, 5.4.6 to 5.4.8."""
    if root.tag == qname(SOAP11, "Envelope"):
        raise faults.SoapFault("VersionMismatch", "SOAP 1.1 is not supported: use SOAP 1.2.")
    if root.tag != qname(SOAP12, "Envelope"):
        raise faults.SoapFault("VersionMismatch", "The root element is not a SOAP 1.2 Envelope.")

    header = root.find(qname(SOAP12, "Header"))
    body = root.find(qname(SOAP12, "Body"))
    if body is None:
        raise faults.sender("The envelope has no Body.")
    children = [child for child in body if isinstance(child.tag, str)]
    if not children:
        raise faults.sender("The Body is empty.")

    blocks = [b for b in header if isinstance(b.tag, str)] if header is not None else []
    not_understood = [
        b.tag for b in blocks
        if b.get(qname(SOAP12, "mustUnderstand"), "").strip() in _TRUE
        and etree.QName(b).namespace != WSA
    ]
    if not_understood:
        fault = faults.SoapFault("MustUnderstand", "One or more mandatory SOAP header blocks "
                                 "were not understood.", not_understood=not_understood)
        raise fault

    addressing = _read_addressing(blocks)
    return Envelope(root=root, addressing=addressing, body=children[0])


def _read_addressing(blocks: list[etree._Element]) -> Addressing:
    def text(local: str) -> str | None:
        found = [b for b in blocks if b.tag == qname(WSA, local)]
        if len(found) > 1:
            # WS-Addressing 1.0 SOAP Binding 6.4.1: each property at most once.
            raise faults.SoapFault("Sender", f"wsa:{local} appears more than once.",
                                   subcode=(WSA, "InvalidAddressingHeader"),
                                   problem_header=qname(WSA, local))
        if not found:
            return None
        if local == "ReplyTo":
            address = found[0].find(qname(WSA, "Address"))
            return (address.text or "").strip() if address is not None else WSA_ANONYMOUS
        return (found[0].text or "").strip()

    action = text("Action")
    if not action:
        raise faults.header_required("Action")
    reply_to = text("ReplyTo")
    if reply_to not in (None, WSA_ANONYMOUS, WSA_NONE):
        raise faults.only_anonymous_address()
    return Addressing(action=action, message_id=text("MessageID"), reply_to=reply_to,
                      to=text("To"))


def build_envelope(*, action: str, body: etree._Element, relates_to: str | None) -> etree._Element:
    """A response envelope: wsa:Action (mustUnderstand), a fresh MessageID, RelatesTo."""
    E = f"{{{SOAP12}}}"
    envelope = etree.Element(E + "Envelope", nsmap={"env": SOAP12, "wsa": WSA})
    header = etree.SubElement(envelope, E + "Header")
    action_el = etree.SubElement(header, qname(WSA, "Action"))
    action_el.set(E + "mustUnderstand", "true")
    action_el.text = action
    etree.SubElement(header, qname(WSA, "MessageID")).text = f"urn:uuid:{uuid.uuid4()}"
    if relates_to:
        etree.SubElement(header, qname(WSA, "RelatesTo")).text = relates_to
    etree.SubElement(envelope, E + "Body").append(body)
    return envelope
