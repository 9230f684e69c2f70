"""A stored DocumentEntry as an MHD DocumentReference (MHD 4.2 ITI TF-3 4.5.1, Table 4.5.1.1-1).

The entry's ebRIM ExtrinsicObject, as the registry keeps it, is read into registry.metadata with
the registry's own reader, then mapped attribute by attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fhir_api.identity import identifier_of_cx
from fhir_api.mhd import codes
from registry import metadata
from registry.ebrim import attributes
from soap.xml import parse_xml

# ITI TF-3 4.5.1.1: the document relationships as DocumentReference.relatesTo.code.
RELATES_TO = {metadata.RPLC: "replaces", metadata.XFRM: "transforms", metadata.APND: "appends",
              metadata.SIGNS: "signs", metadata.XFRM_RPLC: "transforms"}


Resources = list[dict[str, Any]]


@dataclass(frozen=True)
class Relation:
    """A relationship association whose source is the entry: its type and target entryUUID."""

    association_type: str
    target_uuid: str


def document_entry_of_ebrim(entry_uuid: str, ebrim: str) -> tuple[metadata.DocumentEntry, str]:
    """The stored ExtrinsicObject read as metadata, with its availabilityStatus."""
    element = parse_xml(ebrim.encode("utf-8"))
    entry = metadata.DocumentEntry(entry_uuid=entry_uuid)
    attributes.document_entry(element, entry)
    return entry, element.get("status", codes.APPROVED)


def document_reference(*, entry_uuid: str, ebrim: str, base: str, subject: dict[str, Any] | None,
                       relations: Sequence[Relation] = ()) -> dict[str, Any]:
    """The DocumentReference of one stored DocumentEntry; `subject` as identity.subject_of_cx."""
    entry, status = document_entry_of_ebrim(entry_uuid, ebrim)
    contained, authors = _contained_authors(entry.authors)
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference", "id": codes.id_of_entry_uuid(entry_uuid),
        "masterIdentifier": {"system": codes.RFC3986, "value": codes.uri_of_unique_id(entry.unique_id)},
        "identifier": [{"use": "official", "system": codes.RFC3986, "value": entry_uuid}],
        "status": codes.document_status(status),
    }
    if entry.type_code:
        resource["type"] = _concept(entry.type_code)
    if entry.class_code:
        resource["category"] = [_concept(entry.class_code)]
    if subject:
        resource["subject"] = subject
    if codes.instant_of_dtm(entry.creation_time):
        resource["date"] = codes.instant_of_dtm(entry.creation_time)
    if authors:
        resource["author"] = authors
    relates = [{"code": RELATES_TO[r.association_type],
                "target": {"reference": f"DocumentReference/{codes.id_of_entry_uuid(r.target_uuid)}"}}
               for r in relations if r.association_type in RELATES_TO]
    if relates:
        resource["relatesTo"] = relates
    if entry.comments:
        resource["description"] = entry.comments
    if entry.confidentiality_code:
        resource["securityLabel"] = [_concept(c) for c in entry.confidentiality_code]
    content: dict[str, Any] = {"attachment": _attachment(entry, base)}
    if entry.format_code:
        content["format"] = codes.coding(entry.format_code.code, entry.format_code.scheme,
                                         entry.format_code.display_name)
    resource["content"] = [content]
    context = _context(entry)
    if entry.source_patient_id:
        contained.append(_source_patient(entry))
        context["sourcePatientInfo"] = {"reference": "#p1"}
    if context:
        resource["context"] = context
    if contained:
        resource["contained"] = contained
    return resource


def _concept(code: metadata.Code) -> dict[str, Any]:
    return codes.codeable(code.code, code.scheme, code.display_name)


def _attachment(entry: metadata.DocumentEntry, base: str) -> dict[str, Any]:
    # ITI TF-3 4.5.1.1: the url is where ITI-68 answers the document.
    attachment: dict[str, Any] = {"contentType": entry.mime_type or "application/octet-stream"}
    if entry.language_code:
        attachment["language"] = entry.language_code
    attachment["url"] = f"{base}/Binary/{quote(entry.unique_id, safe='')}"
    if entry.size.isdigit():
        attachment["size"] = int(entry.size)
    if codes.base64_of_hex(entry.hash):
        attachment["hash"] = codes.base64_of_hex(entry.hash)
    if entry.title:
        attachment["title"] = entry.title
    if codes.date_time_of_dtm(entry.creation_time):
        attachment["creation"] = codes.date_time_of_dtm(entry.creation_time)
    return attachment


def _context(entry: metadata.DocumentEntry) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if entry.event_code_list:
        context["event"] = [_concept(c) for c in entry.event_code_list]
    period = {name: codes.date_time_of_dtm(value) for name, value in
              (("start", entry.service_start_time), ("end", entry.service_stop_time))
              if codes.date_time_of_dtm(value)}
    if period:
        context["period"] = period
    if entry.healthcare_facility_type_code:
        context["facilityType"] = _concept(entry.healthcare_facility_type_code)
    if entry.practice_setting_code:
        context["practiceSetting"] = _concept(entry.practice_setting_code)
    related = [{"identifier": _reference_id(value)} for value in entry.reference_id_list if value]
    if related:
        context["related"] = related
    return context


def _reference_id(cxi: str) -> dict[str, Any]:
    """ITI TF-3 4.2.3.1.7 CXi `value^^^&OID&ISO^type` as an Identifier (type as its code)."""
    parts = cxi.split("^")
    identifier: dict[str, Any] = dict(identifier_of_cx(cxi))
    identifier["value"] = parts[0]
    if len(parts) >= 5 and parts[4]:
        identifier["type"] = {"coding": [{"code": parts[4]}]}
    return identifier


def _contained_authors(authors: Sequence[metadata.Author]) -> tuple[Resources, list[dict[str, str]]]:
    """ITI TF-3 4.5.1.1: each author as contained resources referenced `#a1`, `#a2`, ..."""
    contained: list[dict[str, Any]] = []
    for author in authors:
        if author.person:
            contained.append(practitioner(author.person, f"a{len(contained) + 1}"))
        for institution in author.institutions:
            contained.append(organization(institution, f"a{len(contained) + 1}"))
    return contained, [{"reference": f"#{c['id']}"} for c in contained]


def practitioner(xcn: str, local_id: str) -> dict[str, Any]:
    """authorPerson, HL7 XCN `id^family^given^middle^suffix^prefix^^^&OID&ISO`, as a Practitioner."""
    parts = (xcn.split("^") + [""] * 9)[:9]
    found: dict[str, Any] = {"resourceType": "Practitioner", "id": local_id}
    if parts[0]:
        identifier: dict[str, str] = {"value": parts[0]}
        oid = [*parts[8].split("&"), "", ""][1]
        if oid:
            identifier = {"system": codes.system_of_scheme(oid), **identifier}
        found["identifier"] = [identifier]
    name: dict[str, Any] = {}
    if parts[1]:
        name["family"] = parts[1]
    given = [p for p in (parts[2], parts[3]) if p]
    if given:
        name["given"] = given
    if parts[5]:
        name["prefix"] = [parts[5]]
    if parts[4]:
        name["suffix"] = [parts[4]]
    if name:
        found["name"] = [name]
    return found


def organization(xon: str, local_id: str) -> dict[str, Any]:
    """authorInstitution, HL7 XON `name^^^^^&OID&ISO^^^^id`, as an Organization."""
    parts = (xon.split("^") + [""] * 10)[:10]
    found: dict[str, Any] = {"resourceType": "Organization", "id": local_id}
    if parts[9]:
        oid = [*parts[5].split("&"), "", ""][1]
        system = {"system": codes.system_of_scheme(oid)} if oid else {}
        found["identifier"] = [{**system, "value": parts[9]}]
    if parts[0]:
        found["name"] = parts[0]
    return found


def _source_patient(entry: metadata.DocumentEntry) -> dict[str, Any]:
    """sourcePatientId and sourcePatientInfo (ITI TF-3 4.2.3.2.23: PID-5, PID-7, PID-8) as a Patient."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p1",
                               "identifier": [identifier_of_cx(entry.source_patient_id)]}
    fields = dict(line.split("|", 1) for line in entry.source_patient_info if "|" in line)
    name = [*fields.get("PID-5", "").split("^"), "", ""][:3]
    if name[0] or name[1]:
        patient["name"] = [{k: v for k, v in (("family", name[0]), ("given", [g for g in name[1:] if g]))
                            if v}]
    birth = codes.date_time_of_dtm(fields.get("PID-7", "")[:8])
    if birth:
        patient["birthDate"] = birth
    gender = {"M": "male", "F": "female", "O": "other", "U": "unknown"}.get(fields.get("PID-8", ""))
    if gender:
        patient["gender"] = gender
    return patient
