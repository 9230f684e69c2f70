"""HL7 v3 as the PIXv3 and PDQv3 handlers read and write it: instance identifiers, the patient's
demographics, and the transmission wrapper with its acknowledgement (ITI TF-2b 3.44, 3.45, 3.47)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from lxml import etree

from empi import selectors
from empi.matching.record import Demographics, date, demographics
from organisations.models import AssigningAuthority

HL7 = "urn:hl7-org:v3"
INTERACTION_ROOT = "2.16.840.1.113883.1.6"  # HL7 interaction identifiers
# HL7 table 0357, which ITI TF-2b 3.44.4.1.3 and 3.45.4.2.3 name for acknowledgementDetail codes.
TABLE_0357 = "2.16.840.1.113883.12.357"
UNKNOWN_KEY_IDENTIFIER = "204"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
APPLICATION_INTERNAL_ERROR = "207"


def q(local: str) -> str:
    return f"{{{HL7}}}{local}"


def path(*steps: str) -> str:
    """An ElementPath of HL7 v3 elements, from the element it is applied to."""
    return "/".join(q(step) for step in steps)


@dataclass(frozen=True)
class Detail:
    """One acknowledgementDetail: its table 0357 code, text, and where in the message."""

    code: str
    text: str
    location: str = ""


class Malformed(Exception):
    """A message the handler cannot act on: what its acknowledgementDetail says."""

    def __init__(self, detail: Detail) -> None:
        super().__init__(detail.text)
        self.detail = detail


@dataclass(frozen=True)
class II:
    """An HL7 v3 instance identifier: root (the assigning authority's OID) and extension."""

    root: str
    extension: str = ""
    authority_name: str = ""

    @property
    def cx(self) -> str:
        return f"{self.extension}^^^{self.authority_name}&{self.root}&ISO"


def ii(element: etree._Element | None) -> II | None:
    if element is None or element.get("nullFlavor"):
        return None
    return II(root=(element.get("root") or "").strip(), extension=(element.get("extension") or "").strip(),
              authority_name=(element.get("assigningAuthorityName") or "").strip())


def authority_of(identifier: II) -> AssigningAuthority | None:
    """II.root is the authority's OID (ITI TF-2b 3.44.4.1.2); a name alone finds it too."""
    return selectors.authority_find(namespace_id=identifier.authority_name, universal_id=identifier.root)


def known_identifiers(elements: list[etree._Element], location: str
                      ) -> list[tuple[AssigningAuthority, str]]:
    """The identifiers whose assigning authority the domain knows; 101 when none is given,
    204 when none of their authorities is known."""
    found: list[tuple[AssigningAuthority, str]] = []
    present = False
    for element in elements:
        identifier = ii(element)
        if identifier is None or not identifier.extension:
            continue
        present = True
        authority = authority_of(identifier)
        if authority is not None and (authority, identifier.extension) not in found:
            found.append((authority, identifier.extension))
    if not present:
        raise Malformed(Detail(REQUIRED_FIELD_MISSING, "The message names no patient identifier", location))
    if not found:
        raise Malformed(Detail(UNKNOWN_KEY_IDENTIFIER, "No assigning authority of the patient's "
                               "identifiers is known to the affinity domain", location))
    return found


def person_demographics(person: etree._Element | None) -> Demographics:
    """What patientPerson says of the patient (ITI TF-2b 3.44.4.1.2), normalised for the matcher."""
    if person is None:
        return Demographics()
    names = person.findall(q("name"))
    legal = next((n for n in names if "L" in (n.get("use") or "").split()), names[0] if names else None)
    given = middle = family = ""
    other_family: list[str] = []
    if legal is not None:
        givens = [(g.text or "").strip() for g in legal.findall(q("given"))]
        given, middle = (givens[0] if givens else ""), " ".join(givens[1:])
        family = (legal.findtext(q("family")) or "").strip()
    for n in names:
        surname = (n.findtext(q("family")) or "").strip()
        if n is not legal and surname and surname != family:
            other_family.append(surname)
    birth_element = person.find(q("birthTime"))
    birth = (birth_element.get("value") or "") if birth_element is not None else ""
    if birth and not date(birth):
        raise Malformed(Detail(DATA_TYPE_ERROR, "birthTime is not a date", "patientPerson/birthTime"))
    gender = person.find(q("administrativeGenderCode"))
    address = person.find(q("addr"))
    street = city = postcode = ""
    if address is not None:
        street = (address.findtext(q("streetAddressLine")) or "").strip()
        city = (address.findtext(q("city")) or "").strip()
        postcode = (address.findtext(q("postalCode")) or "").strip()
    phone = ""
    for telecom in person.findall(q("telecom")):
        value = telecom.get("value") or ""
        if value.startswith("tel:") and any(c.isdigit() for c in value):
            phone = value[4:]
            break
    mothers = ""
    for relationship in person.findall(q("personalRelationship")):
        code = relationship.find(q("code"))
        if code is not None and code.get("code") == "MTH":
            mothers = (relationship.findtext(path("relationshipHolder1", "name", "family")) or "").strip()
    return demographics(
        given=given, middle=middle, family=family, birth_date=birth,
        sex=gender.get("code", "") if gender is not None else "", street=street, city=city,
        postcode=postcode, phone=phone, mothers_maiden_name=mothers,
        other_family=tuple(other_family))


def raw_person(person: etree._Element | None) -> dict[str, str]:
    """The patientPerson as sent, kept with the record (like the PID fields of a v2 feed)."""
    if person is None:
        return {}
    return {"patientPerson": etree.tostring(person, encoding="unicode")}


@dataclass(frozen=True)
class Transmission:
    """The transmission wrapper of a request: its message id and the devices at both ends."""

    message_id: II | None
    sender_device: str
    receiver_device: str

    @property
    def message_id_text(self) -> str:
        if self.message_id is None:
            return ""
        return ":".join(part for part in (self.message_id.root, self.message_id.extension) if part)


def read_transmission(message: etree._Element) -> Transmission:
    sender = message.find(path("sender", "device", "id"))
    receiver = message.find(path("receiver", "device", "id"))
    return Transmission(message_id=ii(message.find(q("id"))),
                        sender_device=(sender.get("root") or "") if sender is not None else "",
                        receiver_device=(receiver.get("root") or "") if receiver is not None else "")


def response_wrapper(interaction: str, request: Transmission, *, type_code: str,
                     details: Sequence[Detail] = ()) -> etree._Element:
    """A response's transmission wrapper up to its acknowledgement (MCCI_MT000200UV01 /
    MCCI_MT000300UV01): the devices swapped, the request's message id as targetMessage."""
    root = etree.Element(q(interaction), nsmap={None: HL7})  # type: ignore[dict-item]  # the default namespace
    root.set("ITSVersion", "XML_1.0")
    etree.SubElement(root, q("id"), root=str(uuid.uuid4()))
    etree.SubElement(root, q("creationTime"), value=timezone.now().strftime("%Y%m%d%H%M%S"))
    etree.SubElement(root, q("interactionId"), root=INTERACTION_ROOT, extension=interaction)
    etree.SubElement(root, q("processingCode"), code="P")
    etree.SubElement(root, q("processingModeCode"), code="T")
    etree.SubElement(root, q("acceptAckCode"), code="NE")
    _device(etree.SubElement(root, q("receiver"), typeCode="RCV"), request.sender_device)
    _device(etree.SubElement(root, q("sender"), typeCode="SND"), request.receiver_device)
    acknowledgement = etree.SubElement(root, q("acknowledgement"))
    etree.SubElement(acknowledgement, q("typeCode"), code=type_code)
    target = etree.SubElement(acknowledgement, q("targetMessage"))
    if request.message_id is not None and request.message_id.root:
        attributes = {"root": request.message_id.root}
        if request.message_id.extension:
            attributes["extension"] = request.message_id.extension
        etree.SubElement(target, q("id"), attributes)
    else:
        etree.SubElement(target, q("id"), nullFlavor="UNK")
    for detail in details:
        node = etree.SubElement(acknowledgement, q("acknowledgementDetail"), typeCode="E")
        etree.SubElement(node, q("code"), code=detail.code, codeSystem=TABLE_0357,
                         codeSystemName="HL7 Table 0357")
        etree.SubElement(node, q("text")).text = detail.text
        if detail.location:
            etree.SubElement(node, q("location")).text = detail.location
    return root


def _device(parent: etree._Element, root: str) -> None:
    device = etree.SubElement(parent, q("device"), classCode="DEV", determinerCode="INSTANCE")
    if root:
        etree.SubElement(device, q("id"), root=root)
    else:
        etree.SubElement(device, q("id"), nullFlavor="UNK")
