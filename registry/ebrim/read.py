"""ebRIM wire: an lcm:SubmitObjectsRequest (ITI-42) read into the metadata of a submission.

Symbolic ids become fresh urn:uuid values wherever they are referenced (ITI TF-3 4.1.12.1), and
each object's ebRIM text is serialized as the registry will store and answer it: final id, lid,
version 1 and status Approved (ITI TF-3 4.1.9); a folder gets its lastUpdateTime.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

from lxml import etree

from registry import metadata
from registry.ebrim import attributes
from registry.ebrim.namespaces import LCM, RIM
from registry.ebrim.schemes import FOLDER_NODE, SUBMISSION_SET_NODE

R = f"{{{RIM}}}"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
_REFERENCES = ("id", "lid", "classifiedObject", "registryObject", "sourceObject", "targetObject")
# rim:RegistryObjectType's content model, in order (rim.xsd): where VersionInfo goes.
_BEFORE_VERSION_INFO = (R + "Slot", R + "Name", R + "Description")


class NotASubmission(ValueError):
    """The body is not a SubmitObjectsRequest with a RegistryObjectList: a Sender fault."""


def read_submission(body: etree._Element, *, now: datetime | None = None) -> metadata.Submission:
    """The Submission an lcm:SubmitObjectsRequest carries."""
    if body.tag != f"{{{LCM}}}SubmitObjectsRequest":
        raise NotASubmission(f"expected lcm:SubmitObjectsRequest, got {_shown(body.tag)}")
    found = body.find(R + "RegistryObjectList")
    if found is None:
        raise NotASubmission("lcm:SubmitObjectsRequest has no rim:RegistryObjectList")
    objects = copy.deepcopy(found)
    symbolic = _assign_uuids(objects)
    nodes = _gather_classifications(objects)
    moment = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    submission = metadata.Submission()
    for element in objects:
        if not isinstance(element.tag, str):
            continue
        entry_uuid = element.get("id", "")
        shown = symbolic.get(entry_uuid, "")
        if element.tag == R + "ExtrinsicObject":
            document = metadata.DocumentEntry(entry_uuid=entry_uuid, symbolic_id=shown)
            attributes.document_entry(element, document)
            _finish(element, document)
            submission.documents.append(document)
        elif element.tag == R + "RegistryPackage":
            kind = attributes.package_kind(element, nodes)
            if kind == "SubmissionSet":
                package = metadata.SubmissionSet(entry_uuid=entry_uuid, symbolic_id=shown)
                attributes.submission_set(element, package)
                _finish(element, package)
                submission.submission_sets.append(package)
            elif kind == "Folder":
                folder = metadata.Folder(entry_uuid=entry_uuid, symbolic_id=shown, last_update_time=moment)
                attributes.folder(element, folder)
                set_slot(element, "lastUpdateTime", moment)
                _finish(element, folder)
                submission.folders.append(folder)
            else:
                submission.unclassified.append(f"RegistryPackage {shown or entry_uuid}")
        elif element.tag == R + "Association":
            association = metadata.Association(entry_uuid=entry_uuid, symbolic_id=shown)
            attributes.association(element, association)
            _finish(element, association)
            submission.associations.append(association)
        elif element.tag not in (R + "ObjectRef", R + "Classification"):
            submission.unclassified.append(f"{etree.QName(element).localname} {shown or entry_uuid}")
    return submission


def _assign_uuids(objects: etree._Element) -> dict[str, str]:
    """ITI TF-3 4.1.12.1: give every symbolic id a urn:uuid, and rewrite its references.

    Returns the new urn:uuid of each symbolic id mapped back to it, for error locations.
    """
    fresh: dict[str, str] = {}
    for element in objects.iter(R + "*"):
        if not _identifiable(element):
            continue
        current = element.get("id", "")
        if current.startswith("urn:uuid:"):
            continue
        new = f"urn:uuid:{uuid.uuid4()}"
        if current:
            fresh.setdefault(current, new)
        else:
            element.set("id", new)
    for element in objects.iter(R + "*"):
        for name in _REFERENCES:
            value = element.get(name)
            if value in fresh:
                element.set(name, fresh[value])
    return {new: old for old, new in fresh.items()}


def _identifiable(element: etree._Element) -> bool:
    return etree.QName(element).localname in (
        "ExtrinsicObject", "RegistryPackage", "Association", "Classification", "ExternalIdentifier")


def _gather_classifications(objects: etree._Element) -> dict[str, str]:
    """Move top-level Classifications into the object they classify (ebRIM allows both places);
    returns the classification node of each RegistryPackage so classified."""
    by_id = {e.get("id"): e for e in objects if isinstance(e.tag, str) and e.tag != R + "Classification"}
    nodes: dict[str, str] = {}
    for classification in objects.findall(R + "Classification"):
        target = classification.get("classifiedObject", "")
        node = classification.get("classificationNode", "")
        if node in (SUBMISSION_SET_NODE, FOLDER_NODE):
            nodes[target] = node
        owner = by_id.get(target)
        if owner is not None:
            _insert_classification(owner, classification)
    return nodes


def _insert_classification(owner: etree._Element, classification: etree._Element) -> None:
    # rim.xsd order: Slot*, Name?, Description?, VersionInfo?, Classification*, ExternalIdentifier*.
    identifiers = owner.findall(R + "ExternalIdentifier")
    if identifiers:
        identifiers[0].addprevious(classification)
    else:
        owner.append(classification)


def _finish(element: etree._Element, entry: metadata.RegistryObject) -> None:
    """ITI TF-3 4.1.9: the registry sets lid (= id for a first version), version and status."""
    lid = element.get("lid") or entry.entry_uuid
    element.set("lid", lid)
    entry.lid = lid
    element.set("status", APPROVED)
    for old in element.findall(R + "VersionInfo"):
        element.remove(old)
    version = etree.Element(R + "VersionInfo", versionName="1")
    _insert_after(element, version, _BEFORE_VERSION_INFO)
    etree.cleanup_namespaces(element)
    entry.ebrim = etree.tostring(element, encoding="unicode", with_tail=False)


def set_slot(element: etree._Element, name: str, value: str) -> None:
    for slot in element.findall(R + "Slot"):
        if slot.get("name") == name:
            element.remove(slot)
    slot = etree.Element(R + "Slot", name=name)
    etree.SubElement(etree.SubElement(slot, R + "ValueList"), R + "Value").text = value
    _insert_after(element, slot, (R + "Slot",))


def _insert_after(element: etree._Element, new: etree._Element, tags: tuple[str, ...]) -> None:
    position = 0
    for index, child in enumerate(element):
        if child.tag in tags:
            position = index + 1
    element.insert(position, new)


def _shown(tag: str) -> str:
    name = etree.QName(tag)
    return f"{{{name.namespace}}}{name.localname}" if name.namespace else name.localname
