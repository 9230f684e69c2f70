"""ITI-42 submissions for the tests: hospital A's recorded KOS submission, with fresh uniqueIds,
and the edits that break it one rule at a time."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from lxml import etree

from registry.ebrim.namespaces import LCM, RIM

FIXTURES = Path(__file__).parent / "fixtures"
R = f"{{{RIM}}}"
AFFINITY = "1.3.6.1.4.1.21367.2005.3.7"
CHIP_MOORE = f"E1001^^^&{AFFINITY}&ISO"  # hospital A's A123 and hospital B's B777
HOSPITAL_A_ROOT = "1.3.6.1.4.1.21367.13.20.1000"
DOCUMENT_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DOCUMENT_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SET_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SET_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
_serial = itertools.count(int(uuid.uuid4().int % 10**8))

# The DocumentEntry's attributes by where they travel, for removing each in turn.
DOCUMENT_CLASSIFICATIONS = {
    "classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
    "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
    "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
    "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
    "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
    "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
}
DOCUMENT_SLOTS = ("creationTime", "languageCode", "sourcePatientId", "hash", "size", "repositoryUniqueId")
DOCUMENT_IDENTIFIERS = {"patientId": DOCUMENT_PATIENT_ID, "uniqueId": DOCUMENT_UNIQUE_ID}


def fresh_oid() -> str:
    return f"{HOSPITAL_A_ROOT}.9.{next(_serial)}"


def kos_submission(*, patient_id: str = CHIP_MOORE, document_unique_id: str | None = None,
                   hash: str | None = None, size: str | None = None) -> etree._Element:
    """Hospital A's KOS submission (fixtures/kos_submission.xml) with fresh uniqueIds."""
    root = etree.parse(str(FIXTURES / "kos_submission.xml")).getroot()
    for identifier in root.iter(R + "ExternalIdentifier"):
        scheme = identifier.get("identificationScheme")
        if scheme in (DOCUMENT_PATIENT_ID, SET_PATIENT_ID):
            identifier.set("value", patient_id)
        elif scheme == DOCUMENT_UNIQUE_ID:
            identifier.set("value", document_unique_id or fresh_oid())
        elif scheme == SET_UNIQUE_ID:
            identifier.set("value", fresh_oid())
    if hash is not None:
        set_slot(root, "hash", hash)
    if size is not None:
        set_slot(root, "size", size)
    return root


def document(root: etree._Element) -> etree._Element:
    found = root.find(f"{R}RegistryObjectList/{R}ExtrinsicObject")
    assert found is not None
    return found


def set_slot(root: etree._Element, name: str, value: str) -> None:
    for slot in document(root).findall(R + "Slot"):
        if slot.get("name") == name:
            slot.find(f"{R}ValueList/{R}Value").text = value  # type: ignore[union-attr]


def remove(root: etree._Element, attribute: str) -> None:
    """Take one DocumentEntry attribute out, wherever it travels."""
    entry = document(root)
    if attribute in DOCUMENT_CLASSIFICATIONS:
        doomed = [c for c in entry.findall(R + "Classification")
                  if c.get("classificationScheme") == DOCUMENT_CLASSIFICATIONS[attribute]]
    elif attribute in DOCUMENT_IDENTIFIERS:
        doomed = [e for e in entry.findall(R + "ExternalIdentifier")
                  if e.get("identificationScheme") == DOCUMENT_IDENTIFIERS[attribute]]
    elif attribute == "mimeType":
        del entry.attrib["mimeType"]
        return
    else:
        doomed = [s for s in entry.findall(R + "Slot") if s.get("name") == attribute]
    assert doomed, attribute
    for element in doomed:
        entry.remove(element)


def add_association(root: etree._Element, kind: str, source: str, target: str) -> None:
    objects = root.find(R + "RegistryObjectList")
    assert objects is not None
    etree.SubElement(objects, R + "Association", id=f"as-{uuid.uuid4().hex[:8]}", associationType=kind,
                     sourceObject=source, targetObject=target)


def unique_ids(root: etree._Element) -> dict[str, str]:
    """The uniqueIds of the submission: 'document' and 'submission_set'."""
    found = {}
    for identifier in root.iter(R + "ExternalIdentifier"):
        if identifier.get("identificationScheme") == DOCUMENT_UNIQUE_ID:
            found["document"] = identifier.get("value", "")
        elif identifier.get("identificationScheme") == SET_UNIQUE_ID:
            found["submission_set"] = identifier.get("value", "")
    return found


def not_a_submission() -> etree._Element:
    return etree.Element(f"{{{LCM}}}UpdateObjectsRequest")


def add_folder(root: etree._Element, *, patient_id: str = CHIP_MOORE) -> None:
    """A folder 'Referrals' holding the document, in the submission (ITI TF-3 4.2.3.4)."""
    objects = root.find(R + "RegistryObjectList")
    assert objects is not None
    folder = etree.SubElement(objects, R + "RegistryPackage", id="Folder01")
    etree.SubElement(etree.SubElement(folder, R + "Name"), R + "LocalizedString", value="Referrals")
    code = etree.SubElement(folder, R + "Classification", id="clf1", classifiedObject="Folder01",
                            classificationScheme="urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5",
                            nodeRepresentation="Referrals")
    slot = etree.SubElement(code, R + "Slot", name="codingScheme")
    etree.SubElement(etree.SubElement(slot, R + "ValueList"), R + "Value").text = "1.3.6.1.4.1.21367.2017.3"
    for scheme, value in (("urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a", patient_id),
                          ("urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a", fresh_oid())):
        etree.SubElement(folder, R + "ExternalIdentifier", id=f"eif{uuid.uuid4().hex[:6]}",
                         registryObject="Folder01", identificationScheme=scheme, value=value)
    etree.SubElement(objects, R + "Classification", id="clf2", classifiedObject="Folder01",
                     classificationNode="urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2")
    has_member = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
    add_association(root, has_member, "SubmissionSet01", "Folder01")
    add_association(root, has_member, "Folder01", "Document01")
