"""ebRIM wire: one RegistryObject element's slots, classifications and identifiers as metadata."""

from __future__ import annotations

from collections import Counter

from lxml import etree

from registry import metadata
from registry.ebrim.namespaces import RIM
from registry.ebrim.schemes import (
    DOCUMENT_CLASSIFICATIONS,
    DOCUMENT_IDENTIFIERS,
    FOLDER_CLASSIFICATIONS,
    FOLDER_IDENTIFIERS,
    FOLDER_NODE,
    SUBMISSION_SET_CLASSIFICATIONS,
    SUBMISSION_SET_IDENTIFIERS,
    SUBMISSION_SET_NODE,
)

R = f"{{{RIM}}}"

# ITI TF-3 Table 4.2.3.2-1: the DocumentEntry slots, single-valued ones mapped to their field.
_DOCUMENT_SLOTS = {
    "creationTime": "creation_time", "hash": "hash", "languageCode": "language_code",
    "legalAuthenticator": "legal_authenticator", "repositoryUniqueId": "repository_unique_id",
    "serviceStartTime": "service_start_time", "serviceStopTime": "service_stop_time",
    "size": "size", "sourcePatientId": "source_patient_id", "URI": "uri",
    "documentAvailability": "document_availability",
}
_DOCUMENT_LIST_SLOTS = {"sourcePatientInfo": "source_patient_info",
                        "urn:ihe:iti:xds:2013:referenceIdList": "reference_id_list"}
_DOCUMENT_CODES = {"classCode": "class_code", "typeCode": "type_code", "formatCode": "format_code",
                   "healthcareFacilityTypeCode": "healthcare_facility_type_code",
                   "practiceSettingCode": "practice_setting_code"}
_AUTHOR_SLOTS = {"authorInstitution": "institutions", "authorRole": "roles",
                 "authorSpecialty": "specialties", "authorTelecommunication": "telecommunications"}


def slot_values(element: etree._Element) -> dict[str, list[list[str]]]:
    """Each direct Slot's values, by name; a name given twice has two entries."""
    slots: dict[str, list[list[str]]] = {}
    for slot in element.findall(R + "Slot"):
        values = [v.text or "" for v in slot.iterfind(f"{R}ValueList/{R}Value")]
        slots.setdefault(slot.get("name", ""), []).append(values)
    return slots


def localized(element: etree._Element, name: str) -> str:
    found = element.find(f"{R}{name}/{R}LocalizedString")
    return found.get("value", "") if found is not None else ""


def document_entry(element: etree._Element, entry: metadata.DocumentEntry) -> None:
    """ITI TF-3 4.2.3.2: fill a DocumentEntry from its ExtrinsicObject."""
    entry.object_type = element.get("objectType", "")
    entry.mime_type = element.get("mimeType", "")
    entry.title = localized(element, "Name")
    entry.comments = localized(element, "Description")
    for name, occurrences in slot_values(element).items():
        if name in _DOCUMENT_SLOTS:
            _single(entry, _DOCUMENT_SLOTS[name], name, occurrences)
        elif name in _DOCUMENT_LIST_SLOTS:
            setattr(entry, _DOCUMENT_LIST_SLOTS[name], [v for values in occurrences for v in values])
        else:
            entry.extra_slots.append(name)
    for classification in element.findall(R + "Classification"):
        kind = DOCUMENT_CLASSIFICATIONS.get(classification.get("classificationScheme", ""))
        if kind == "author":
            entry.authors.append(author(classification))
        elif kind in _DOCUMENT_CODES:
            field = _DOCUMENT_CODES[kind]
            if getattr(entry, field) is not None:
                entry.repeated.append(kind)
            setattr(entry, field, code(classification))
        elif kind == "confidentialityCode":
            entry.confidentiality_code.append(code(classification))
        elif kind == "eventCodeList":
            entry.event_code_list.append(code(classification))
        elif kind is None:
            entry.unknown_schemes.append(classification.get("classificationScheme", ""))
    _identifiers(element, entry, DOCUMENT_IDENTIFIERS)


def submission_set(element: etree._Element, entry: metadata.SubmissionSet) -> None:
    """ITI TF-3 4.2.3.3: fill a SubmissionSet from its RegistryPackage."""
    entry.title = localized(element, "Name")
    entry.comments = localized(element, "Description")
    for name, occurrences in slot_values(element).items():
        if name == "submissionTime":
            _single(entry, "submission_time", name, occurrences)
        elif name == "intendedRecipient":
            entry.intended_recipient = [v for values in occurrences for v in values]
        else:
            entry.extra_slots.append(name)
    for classification in element.findall(R + "Classification"):
        scheme = classification.get("classificationScheme", "")
        kind = SUBMISSION_SET_CLASSIFICATIONS.get(scheme)
        if kind == "author":
            entry.authors.append(author(classification))
        elif kind == "contentTypeCode":
            if entry.content_type_code is not None:
                entry.repeated.append(kind)
            entry.content_type_code = code(classification)
        elif classification.get("classificationNode") != SUBMISSION_SET_NODE:
            entry.unknown_schemes.append(scheme)
    _identifiers(element, entry, SUBMISSION_SET_IDENTIFIERS)


def folder(element: etree._Element, entry: metadata.Folder) -> None:
    """ITI TF-3 4.2.3.4: fill a Folder from its RegistryPackage."""
    entry.title = localized(element, "Name")
    entry.comments = localized(element, "Description")
    for name in slot_values(element):
        if name != "lastUpdateTime":  # the registry sets it (ITI TF-3 4.2.3.4.4)
            entry.extra_slots.append(name)
    for classification in element.findall(R + "Classification"):
        scheme = classification.get("classificationScheme", "")
        if FOLDER_CLASSIFICATIONS.get(scheme) == "codeList":
            entry.code_list.append(code(classification))
        elif classification.get("classificationNode") != FOLDER_NODE:
            entry.unknown_schemes.append(scheme)
    _identifiers(element, entry, FOLDER_IDENTIFIERS)


def association(element: etree._Element, entry: metadata.Association) -> None:
    """ITI TF-3 4.2.2: an Association's type, ends and SubmissionSetStatus; ITI TF-2b 3.57.4.1.3.3:
    the PreviousVersion, OriginalStatus and NewStatus of ITI-57."""
    entry.association_type = element.get("associationType", "")
    entry.source_uuid = element.get("sourceObject", "")
    entry.target_uuid = element.get("targetObject", "")
    for name, occurrences in slot_values(element).items():
        if name in _ASSOCIATION_SLOTS:
            _single(entry, _ASSOCIATION_SLOTS[name], name, occurrences)
        else:
            entry.extra_slots.append(name)


_ASSOCIATION_SLOTS = {"SubmissionSetStatus": "submission_set_status", "PreviousVersion": "previous_version",
                      "OriginalStatus": "original_status", "NewStatus": "new_status"}


def code(classification: etree._Element) -> metadata.Code:
    """ITI TF-3 4.2.3.1.2: nodeRepresentation, the codingScheme slot, and the Name."""
    schemes = slot_values(classification).get("codingScheme", [])
    scheme = schemes[0][0] if schemes and schemes[0] else ""
    return metadata.Code(classification.get("nodeRepresentation", ""), scheme,
                         localized(classification, "Name"))


def author(classification: etree._Element) -> metadata.Author:
    slots = slot_values(classification)
    persons = [v for values in slots.get("authorPerson", []) for v in values]
    found = metadata.Author(person=persons[0] if persons else "")
    for name, field in _AUTHOR_SLOTS.items():
        setattr(found, field, [v for values in slots.get(name, []) for v in values])
    return found


def package_kind(element: etree._Element, nodes: dict[str, str]) -> str:
    """'SubmissionSet', 'Folder' or '' for a RegistryPackage, by its classification node."""
    node = nodes.get(element.get("id", ""), "")
    for classification in element.findall(R + "Classification"):
        node = classification.get("classificationNode") or node
    return {SUBMISSION_SET_NODE: "SubmissionSet", FOLDER_NODE: "Folder"}.get(node, "")


def _single(entry: metadata.RegistryObject, field: str, name: str,
            occurrences: list[list[str]]) -> None:
    # ITI TF-3 4.2.3.1: a single-valued slot holds one value, and appears once.
    values = [v for values in occurrences for v in values]
    if len(occurrences) > 1 or len(values) > 1:
        entry.repeated.append(name)
    setattr(entry, field, values[0] if values else "")


def _identifiers(element: etree._Element, entry: metadata.RegistryObject,
                 schemes: dict[str, str]) -> None:
    seen: Counter[str] = Counter()
    for identifier in element.findall(R + "ExternalIdentifier"):
        scheme = identifier.get("identificationScheme", "")
        name = schemes.get(scheme)
        if name is None:
            entry.unknown_schemes.append(scheme)
            continue
        seen[name] += 1
        if seen[name] > 1:
            entry.repeated.append(name)
        field = "unique_id" if name == "uniqueId" else "patient_id" if name == "patientId" else "source_id"
        setattr(entry, field, identifier.get("value", "").strip())
