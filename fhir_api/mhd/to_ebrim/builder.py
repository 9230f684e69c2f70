"""The builder: a transaction Bundle's entries as one lcm:SubmitObjectsRequest (MHD 4.2 ITI TF-3
4.5.1 and 4.5.2, the XDS <-> FHIR tables read backwards)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from fhir_api.errors import bad_request
from fhir_api.identity import cx, enterprise_ids_of_reference
from fhir_api.mhd import codes
from fhir_api.mhd.to_ebrim.datatypes import (
    BundleEntry,
    coding_of,
    cxi_of,
    dtm_of,
    entry_uuid_of,
    extension_of,
    first_cx,
    fresh_uuid,
    source_patient_info,
    xcn_of,
    xon_of,
)
from fhir_api.mhd.to_ebrim.elements import (
    R,
    add_association,
    add_author,
    add_code,
    add_identifier,
    add_localized,
    add_slot,
)
from registry import errors as registry_errors
from registry import metadata
from registry.ebrim.namespaces import LCM, RIM
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
from registry.errors import RegistryError, RegistryErrors
from registry.models import STABLE

# MHD 4.2 ITI TF-3 4.5.1: DocumentReference.relatesTo.code and the association it stands for.
RELATIONS = {"replaces": metadata.RPLC, "transforms": metadata.XFRM, "appends": metadata.APND,
             "signs": metadata.SIGNS}
# The scheme UUIDs by attribute name (registry.ebrim.schemes holds them by UUID).
_DOCUMENT = {n: s for s, n in {**DOCUMENT_CLASSIFICATIONS, **DOCUMENT_IDENTIFIERS}.items()}
_SET = {n: s for s, n in {**SUBMISSION_SET_CLASSIFICATIONS, **SUBMISSION_SET_IDENTIFIERS}.items()}
_FOLDER = {n: s for s, n in {**FOLDER_CLASSIFICATIONS, **FOLDER_IDENTIFIERS}.items()}


@dataclass
class Provided:
    """The request as ITI-41 would carry it."""

    submit: etree._Element  # lcm:SubmitObjectsRequest
    documents: dict[str, bytes] = field(default_factory=dict)  # bytes by DocumentEntry entryUUID
    locations: list[str] = field(default_factory=list)  # per Bundle entry: "DocumentReference/<id>"


def list_code(resource: dict[str, Any]) -> str:
    """`submissionset` or `folder` (MHD 4.2 ITI TF-3 4.5.2), "" for any other List."""
    for coding in (resource.get("code") or {}).get("coding", []):
        if coding.get("system") == codes.LIST_TYPES:
            return str(coding.get("code", ""))
    return ""


def submission_build(*, entries: list[BundleEntry], base: str, now: str) -> Provided:
    """The SubmitObjectsRequest of a transaction Bundle's entries; `now` is the DTM to use as
    submissionTime when the SubmissionSet List has no date. Raises FhirError (400) for what
    cannot be mapped and RegistryErrors for a subject this server does not know."""
    return _Builder(entries, base).build(now)


class _Builder:
    def __init__(self, entries: list[BundleEntry], base: str) -> None:
        self.entries = entries
        self.base = base
        self.by_url = {e.full_url: e for e in entries}
        self.uuids = {e.full_url: entry_uuid_of(e) for e in entries
                      if e.kind in ("DocumentReference", "List")}
        self.submit = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
        self.objects = etree.SubElement(self.submit, R + "RegistryObjectList")
        self.provided = Provided(submit=self.submit, locations=[""] * len(entries))
        self.submission_set_uuid = ""

    def build(self, now: str) -> Provided:
        sets = [e for e in self.entries if e.kind == "List" and list_code(e.resource) == "submissionset"]
        if len(sets) != 1:
            raise bad_request(f"the Bundle carries {len(sets)} SubmissionSet Lists (List.code "
                              f"{codes.LIST_TYPES}|submissionset); MHD 3.65.4.1.2 needs exactly one",
                              expression="Bundle.entry")
        self.submission_set_uuid = self.uuids[sets[0].full_url]
        for entry in self.entries:
            if entry.kind == "DocumentReference":
                self._document(entry)
            elif entry.kind == "List" and list_code(entry.resource) == "folder":
                self._package(entry, _FOLDER, FOLDER_NODE, now="")
            elif entry.kind == "List" and entry is sets[0]:
                self._package(entry, _SET, SUBMISSION_SET_NODE, now=now)
            elif entry.kind != "Binary":
                raise bad_request(f"{entry.where}: a {entry.kind or 'resource'} is not part of an MHD "
                                  "Provide Document Bundle (List, DocumentReference, Binary)",
                                  expression=entry.where)
        for entry in self.entries:
            if entry.kind == "Binary" and not self.provided.locations[entry.position]:
                raise bad_request(f"{entry.where}: no DocumentReference's attachment.url is this "
                                  "Binary's fullUrl", expression=entry.where)
        return self.provided

    # --- DocumentEntry (MHD 4.2 ITI TF-3 4.5.1.1)

    def _document(self, entry: BundleEntry) -> None:
        resource = entry.resource
        entry_uuid = self.uuids[entry.full_url]
        element = etree.SubElement(self.objects, R + "ExtrinsicObject", id=entry_uuid, objectType=STABLE)
        where = entry.where
        attachment = ((resource.get("content") or [{}])[0]).get("attachment") or {}
        if attachment.get("contentType"):
            element.set("mimeType", attachment["contentType"])
        unique_id = codes.unique_id_of_uri((resource.get("masterIdentifier") or {}).get("value", ""))
        self.provided.documents[entry_uuid] = self._bytes(entry, attachment, unique_id)
        context = resource.get("context") or {}
        patient_id = self._patient_id(resource.get("subject"), f"{where}.resource.subject")
        period = context.get("period") or {}
        add_slot(element, "creationTime", dtm_of(attachment.get("creation") or resource.get("date", "")))
        add_slot(element, "hash", self._hash(attachment.get("hash", ""), where))
        add_slot(element, "languageCode", attachment.get("language", ""))
        add_slot(element, "serviceStartTime", dtm_of(period.get("start", "")))
        add_slot(element, "serviceStopTime", dtm_of(period.get("end", "")))
        add_slot(element, "size", str(attachment["size"]) if "size" in attachment else "")
        source = self._contained(resource, context.get("sourcePatientInfo"), "Patient", where)
        # ITI TF-3 4.5.1.1: without sourcePatientInfo the Recipient knows only the affinity ID.
        add_slot(element, "sourcePatientId", first_cx(source) or patient_id)
        add_slot(element, "sourcePatientInfo", *source_patient_info(source))
        add_slot(element, "urn:ihe:iti:xds:2013:referenceIdList",
              *[cxi_of(r.get("identifier") or {}) for r in context.get("related", [])])
        add_localized(element, "Name", attachment.get("title", ""))
        add_localized(element, "Description", resource.get("description", ""))
        for author in self._authors(resource, resource.get("author", []), where):
            add_author(element, _DOCUMENT["author"], author)
        concepts = [("classCode", c) for c in resource.get("category", [])[:1]]
        concepts += [("confidentialityCode", c) for c in resource.get("securityLabel", [])]
        concepts += [("eventCodeList", c) for c in context.get("event", [])]
        concepts += [(name, context[key]) for name, key in (
            ("healthcareFacilityTypeCode", "facilityType"), ("practiceSettingCode", "practiceSetting"))
            if key in context]
        concepts += [("typeCode", resource["type"])] if "type" in resource else []
        for name, concept in concepts:
            add_code(element, _DOCUMENT[name], *coding_of((concept.get("coding") or [{}])[0]))
        formats = [c["format"] for c in resource.get("content", [])[:1] if "format" in c]
        for coding in formats:
            add_code(element, _DOCUMENT["formatCode"], *coding_of(coding))
        add_identifier(element, _DOCUMENT["patientId"], patient_id)
        add_identifier(element, _DOCUMENT["uniqueId"], unique_id)
        for related in resource.get("relatesTo", []):
            self._relation(entry_uuid, related, where)
        self.provided.locations[entry.position] = f"DocumentReference/{codes.id_of_entry_uuid(entry_uuid)}"

    def _bytes(self, entry: BundleEntry, attachment: dict[str, Any], unique_id: str) -> bytes:
        """The document: the Binary attachment.url names by its fullUrl, or attachment.data."""
        where = f"{entry.where}.resource.content[0].attachment"
        url = attachment.get("url", "")
        data = attachment.get("data")
        if url:
            binary = self.by_url.get(url)
            if binary is None or binary.kind != "Binary":
                raise bad_request(f"{where}.url {url!r} resolves to no Binary of the Bundle",
                                  expression=f"{where}.url")
            data = binary.resource.get("data")
            self.provided.locations[binary.position] = f"Binary/{unique_id}"
            where = f"{binary.where}.resource"
        if not isinstance(data, str):
            raise bad_request(f"{where} carries no data (base64)", expression=f"{where}.data")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"{where}.data is not base64", expression=f"{where}.data") from None

    @staticmethod
    def _hash(value: str, where: str) -> str:
        if not value:
            return ""
        digest = codes.hex_of_base64(value)
        if len(digest) != 40:
            raise bad_request(f"{where}: attachment.hash is not the base64 of a SHA-1 (20 bytes)",
                              expression=f"{where}.resource.content[0].attachment.hash")
        return digest

    def _relation(self, entry_uuid: str, related: dict[str, Any], where: str) -> None:
        kind = RELATIONS.get(related.get("code", ""))
        reference = (related.get("target") or {}).get("reference", "")
        if kind is None or not reference:
            raise bad_request(f"{where}: relatesTo needs a code of {', '.join(RELATIONS)} and a target",
                              expression=f"{where}.resource.relatesTo")
        target = self.uuids.get(reference) or codes.entry_uuid_of_id(reference.rsplit("/", 1)[-1])
        add_association(self.objects, kind, entry_uuid, target)

    # --- SubmissionSet and Folder (MHD 4.2 ITI TF-3 4.5.2)

    def _package(self, entry: BundleEntry, schemes: dict[str, str], node: str, *, now: str) -> None:
        resource = entry.resource
        where = entry.where
        package_uuid = self.uuids[entry.full_url]
        element = etree.SubElement(self.objects, R + "RegistryPackage", id=package_uuid)
        is_set = node == SUBMISSION_SET_NODE
        if is_set:
            add_slot(element, "submissionTime", dtm_of(resource.get("date", "")) or now)
        add_localized(element, "Name", resource.get("title", ""))
        add_localized(element, "Description", ((resource.get("note") or [{}])[0]).get("text", ""))
        if is_set and "source" in resource:
            for author in self._authors(resource, [resource["source"]], where):
                add_author(element, schemes["author"], author)
        designation = extension_of(resource, codes.DESIGNATION_TYPE_EXTENSION).get("valueCodeableConcept")
        if designation:
            add_code(element, schemes["contentTypeCode" if is_set else "codeList"],
                  *coding_of((designation.get("coding") or [{}])[0]))
        etree.SubElement(element, R + "Classification", id=fresh_uuid(), classifiedObject=package_uuid,
                         classificationNode=node)
        add_identifier(element, schemes["patientId"], self._patient_id(resource.get("subject"),
                                                                    f"{where}.resource.subject"))
        if is_set:
            source_id = extension_of(resource, codes.SOURCE_ID_EXTENSION).get("valueIdentifier") or {}
            add_identifier(element, schemes["sourceId"], codes.unique_id_of_uri(source_id.get("value", "")))
        official = [i for i in resource.get("identifier", []) if i.get("use") == "official"]
        add_identifier(element, schemes["uniqueId"],
                    codes.unique_id_of_uri(official[0].get("value", "")) if official else "")
        for n, item in enumerate(resource.get("entry", [])):
            reference = (item.get("item") or {}).get("reference", "")
            member = self.by_url.get(reference)
            if member is None or member.full_url not in self.uuids:
                raise bad_request(f"{where}.resource.entry[{n}].item {reference!r} resolves to no "
                                  "DocumentReference or List of the Bundle",
                                  expression=f"{where}.resource.entry[{n}].item")
            target = self.uuids[member.full_url]
            status = "Original" if is_set and member.kind == "DocumentReference" else ""
            association = add_association(self.objects, metadata.HAS_MEMBER, package_uuid, target, status)
            if not is_set:
                # ITI TF-3 4.1.4.5: a document put in a folder; the submission set holds that too.
                add_association(self.objects, metadata.HAS_MEMBER, self.submission_set_uuid, association)
        self.provided.locations[entry.position] = f"List/{codes.id_of_entry_uuid(package_uuid)}"

    # --- patients and authors

    def _patient_id(self, subject: dict[str, Any] | None, where: str) -> str:
        """patientId: the enterprise ID of `Patient/{pk}` on this server, or the identifier as CX."""
        if not subject:
            return ""
        reference = subject.get("reference", "")
        if reference:
            local = reference[len(self.base) + 1:] if reference.startswith(self.base + "/") else reference
            found = enterprise_ids_of_reference(local)
            if not found:
                raise RegistryErrors([RegistryError(
                    registry_errors.UNKNOWN_PATIENT_ID, f"{where}: {reference} is no Patient of this "
                    "server", where)])
            return found[0]
        identifier = subject.get("identifier") or {}
        system, value = identifier.get("system", ""), identifier.get("value", "")
        if not system.startswith("urn:oid:") or not value:
            raise bad_request(f"{where} needs a reference to a Patient of this server or an identifier "
                              "with a urn:oid: system and a value", expression=where)
        return cx(value, codes.scheme_of_system(system))

    def _contained(self, resource: dict[str, Any], reference: dict[str, Any] | None, kind: str,
                   where: str) -> dict[str, Any]:
        """A contained resource named `#id` (the only way MHD Comprehensive Metadata carries them)."""
        if not reference:
            return {}
        name = reference.get("reference", "")
        for contained in resource.get("contained", []):
            if f"#{contained.get('id', '')}" == name and contained.get("resourceType") == kind:
                return dict(contained)
        raise bad_request(f"{where}: {name!r} resolves to no contained {kind}", expression=where)

    def _authors(self, resource: dict[str, Any], references: list[dict[str, Any]],
                 where: str) -> list[metadata.Author]:
        """ITI TF-3 4.2.3.1.4: a Practitioner starts an author, Organizations are its institutions."""
        found: list[metadata.Author] = []
        for reference in references:
            contained = next((c for c in resource.get("contained", [])
                              if f"#{c.get('id', '')}" == reference.get("reference")), None)
            if contained is None or contained.get("resourceType") not in ("Practitioner", "Organization"):
                raise bad_request(f"{where}: the author {reference.get('reference', '')!r} resolves to "
                                  "no contained Practitioner or Organization", expression=where)
            if contained["resourceType"] == "Practitioner" or not found:
                found.append(metadata.Author())
            if contained["resourceType"] == "Practitioner":
                found[-1].person = xcn_of(contained)
            else:
                found[-1].institutions.append(xon_of(contained))
        return found
