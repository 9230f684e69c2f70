"""ITI-57 and ITI-62 requests for the tests: the operator's new versions, status changes and
deletions of what hospital A registered, built on hospital A's recorded KOS submission."""

from __future__ import annotations

import uuid

from lxml import etree

from registry import models
from registry.ebrim.namespaces import LCM, RIM
from registry.metadata import UPDATE_AVAILABILITY_STATUS
from tests.registry.submissions import CHIP_MOORE, R, document, kos_submission


def new_version(previous: models.DocumentEntry, *, previous_version: str | None = None,
                patient_id: str = CHIP_MOORE, title: str = "CT chest, corrected") -> etree._Element:
    """ITI TF-2b 3.57.4.1.3.3.1: the entry again under its lid, PreviousVersion on its HasMember."""
    root = kos_submission(patient_id=patient_id, document_unique_id=previous.unique_id)
    entry = document(root)
    entry.set("lid", previous.logical_id)
    name = entry.find(R + "Name")
    if name is not None:
        entry.remove(name)
    name = etree.Element(R + "Name")
    etree.SubElement(name, R + "LocalizedString", value=title)
    entry.insert(len(entry.findall(R + "Slot")), name)
    membership = _association(root, "Document01")
    given = str(previous.version) if previous_version is None else previous_version
    _slot(membership, "PreviousVersion", given)
    return root


def status_change(target: str, original: str, new: str, *, patient_id: str = CHIP_MOORE) -> etree._Element:
    """ITI TF-2b 3.57.4.1.3.3.2: a submission set with only an UpdateAvailabilityStatus."""
    root = kos_submission(patient_id=patient_id)
    objects = root.find(R + "RegistryObjectList")
    assert objects is not None
    objects.remove(document(root))
    objects.remove(_association(root, "Document01"))
    association = etree.SubElement(objects, R + "Association", id="as-status",
                                   associationType=UPDATE_AVAILABILITY_STATUS,
                                   sourceObject="SubmissionSet01", targetObject=target)
    _slot(association, "NewStatus", new)
    _slot(association, "OriginalStatus", original)
    return root


def removal(*entry_uuids: str) -> etree._Element:
    """ITI TF-2b 3.62.4.1.2: an lcm:RemoveObjectsRequest naming the objects."""
    request = etree.Element(f"{{{LCM}}}RemoveObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
    listing = etree.SubElement(request, R + "ObjectRefList")
    for entry_uuid in entry_uuids:
        etree.SubElement(listing, R + "ObjectRef", id=entry_uuid)
    return request


def an_unknown_uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _association(root: etree._Element, target: str) -> etree._Element:
    return next(a for a in root.iter(R + "Association") if a.get("targetObject") == target)


def _slot(element: etree._Element, name: str, value: str) -> None:
    slot = etree.Element(R + "Slot", name=name)
    etree.SubElement(etree.SubElement(slot, R + "ValueList"), R + "Value").text = value
    element.insert(0, slot)
