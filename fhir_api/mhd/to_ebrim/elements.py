"""ebRIM elements of a SubmitObjectsRequest, written in rim.xsd's order (ITI TF-3 4.2.3.1)."""

from __future__ import annotations

from lxml import etree

from fhir_api.mhd.to_ebrim.datatypes import fresh_uuid
from registry import metadata
from registry.ebrim.namespaces import RIM

R = f"{{{RIM}}}"


# --- ebRIM elements, in rim.xsd's order: Slot*, Name?, Description?, Classification*, ExternalIdentifier*
def add_slot(element: etree._Element, name: str, *values: str) -> None:
    if not any(values):
        return
    slot = etree.SubElement(element, R + "Slot", name=name)
    value_list = etree.SubElement(slot, R + "ValueList")
    for value in values:
        etree.SubElement(value_list, R + "Value").text = value


def add_localized(element: etree._Element, tag: str, value: str) -> None:
    if value:
        etree.SubElement(etree.SubElement(element, R + tag), R + "LocalizedString", value=value)


def add_code(element: etree._Element, scheme: str, code: str, coding_scheme: str, display: str) -> None:
    classification = etree.SubElement(element, R + "Classification", id=fresh_uuid(),
                                      classificationScheme=scheme, classifiedObject=element.get("id", ""),
                                      nodeRepresentation=code)
    add_slot(classification, "codingScheme", coding_scheme)
    add_localized(classification, "Name", display)


def add_author(element: etree._Element, scheme: str, author: metadata.Author) -> None:
    classification = etree.SubElement(element, R + "Classification", id=fresh_uuid(),
                                      classificationScheme=scheme, classifiedObject=element.get("id", ""),
                                      nodeRepresentation="")
    add_slot(classification, "authorPerson", author.person)
    add_slot(classification, "authorInstitution", *author.institutions)


def add_identifier(element: etree._Element, scheme: str, value: str) -> None:
    if value:
        etree.SubElement(element, R + "ExternalIdentifier", id=fresh_uuid(),
                         registryObject=element.get("id", ""), identificationScheme=scheme, value=value)


def add_association(objects: etree._Element, kind: str, source: str, target: str, status: str = "") -> str:
    association_id = fresh_uuid()
    association = etree.SubElement(objects, R + "Association", id=association_id, associationType=kind,
                                   sourceObject=source, targetObject=target)
    add_slot(association, "SubmissionSetStatus", status)
    return association_id
