"""SOAP 1.2 faults (SOAP 1.2 Part 1, 5.4), and the WS-Addressing faults built on them.

    SoapFault
     ├── code Sender      the request is wrong; HTTP 400 (SOAP 1.2 Part 2, 7.5.1.2)
     ├── code Receiver    the node failed; HTTP 500, no detail of why leaves the server
     ├── VersionMismatch  a SOAP 1.1 envelope; HTTP 500, with an Upgrade header
     └── MustUnderstand   a mustUnderstand header block we do not process; HTTP 500
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lxml import etree

from soap.namespaces import (
    SOAP12,
    WSA,
    WSA_FAULT_ACTION,
    WSA_SOAP_FAULT_ACTION,
    qname,
)

_HTTP_STATUS = {"Sender": 400, "Receiver": 500, "VersionMismatch": 500, "MustUnderstand": 500,
                "DataEncodingUnknown": 500}


@dataclass
class SoapFault(Exception):
    code: str  # Sender, Receiver, VersionMismatch, MustUnderstand, DataEncodingUnknown
    reason: str
    subcode: tuple[str, str] | None = None  # (namespace, local name)
    http_status: int | None = None
    not_understood: list[str] = field(default_factory=list)  # Clark names of header blocks
    problem_header: str | None = None  # WS-Addressing detail: the header that was missing/bad
    problem_action: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.reason)

    @property
    def status(self) -> int:
        return self.http_status or _HTTP_STATUS.get(self.code, 500)

    @property
    def is_addressing_fault(self) -> bool:
        return self.subcode is not None and self.subcode[0] == WSA


def sender(reason: str, *, http_status: int | None = None) -> SoapFault:
    return SoapFault("Sender", reason, http_status=http_status)


def action_not_supported(action: str) -> SoapFault:
    # WS-Addressing 1.0 SOAP Binding 6.4.3
    return SoapFault("Sender", f"The action {action!r} is not supported at this endpoint.",
                     subcode=(WSA, "ActionNotSupported"), problem_action=action)


def header_required(header: str) -> SoapFault:
    # WS-Addressing 1.0 SOAP Binding 6.4.4
    return SoapFault("Sender", f"A required header representing a Message Addressing Property "
                     f"is not present: wsa:{header}.", subcode=(WSA, "MessageAddressingHeaderRequired"),
                     problem_header=qname(WSA, header))


def only_anonymous_address() -> SoapFault:
    # WS-Addressing 1.0 Metadata 3.1.1: this node answers on the same HTTP connection only.
    return SoapFault("Sender", "Only anonymous reply addresses are supported.",
                     subcode=(WSA, "OnlyAnonymousAddressSupported"),
                     problem_header=qname(WSA, "ReplyTo"))


def fault_envelope(fault: SoapFault, *, relates_to: str | None = None) -> etree._Element:
    E = f"{{{SOAP12}}}"
    envelope = etree.Element(E + "Envelope", nsmap={"env": SOAP12, "wsa": WSA})
    header = etree.SubElement(envelope, E + "Header")
    action = etree.SubElement(header, qname(WSA, "Action"))
    action.set(E + "mustUnderstand", "true")
    action.text = WSA_FAULT_ACTION if fault.is_addressing_fault else WSA_SOAP_FAULT_ACTION
    etree.SubElement(header, qname(WSA, "MessageID")).text = f"urn:uuid:{uuid.uuid4()}"
    if relates_to:
        etree.SubElement(header, qname(WSA, "RelatesTo")).text = relates_to
    if fault.code == "VersionMismatch":
        # SOAP 1.2 Part 1, 5.4.7: tell the sender which envelope we speak.
        upgrade = etree.SubElement(header, E + "Upgrade")
        supported = etree.SubElement(upgrade, E + "SupportedEnvelope")
        supported.set("qname", "env:Envelope")
    for name in fault.not_understood:
        # SOAP 1.2 Part 1, 5.4.8
        block = etree.SubElement(header, E + "NotUnderstood", nsmap={"ns": name[1:].split("}")[0]})
        block.set("qname", "ns:" + name.split("}")[1])

    body = etree.SubElement(envelope, E + "Body")
    node = etree.SubElement(body, E + "Fault")
    code = etree.SubElement(node, E + "Code")
    etree.SubElement(code, E + "Value").text = f"env:{fault.code}"
    if fault.subcode:
        sub = etree.SubElement(code, E + "Subcode")
        if fault.subcode[0] == WSA:
            etree.SubElement(sub, E + "Value").text = f"wsa:{fault.subcode[1]}"
        else:
            value = etree.SubElement(sub, E + "Value", nsmap={"sub": fault.subcode[0]})
            value.text = f"sub:{fault.subcode[1]}"
    reason = etree.SubElement(node, E + "Reason")
    text = etree.SubElement(reason, E + "Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = fault.reason
    if fault.problem_header or fault.problem_action:
        detail = etree.SubElement(node, E + "Detail")
        if fault.problem_header:
            problem = etree.SubElement(detail, qname(WSA, "ProblemHeaderQName"))
            problem.text = "wsa:" + fault.problem_header.split("}")[1]
        if fault.problem_action:
            problem = etree.SubElement(detail, qname(WSA, "ProblemAction"))
            etree.SubElement(problem, qname(WSA, "Action")).text = fault.problem_action
    return envelope
