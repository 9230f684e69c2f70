"""MHD ITI-65 Provide Document Bundles for the tests, built as a Document Source would."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from tests.registry.submissions import fresh_oid

HOSPITAL_A = "1.3.6.1.4.1.21367.13.20.1000"
MHD_LISTS = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"


def mhd_bundle(*, patient_id: str, unique_id: str, mrn: str, content: bytes,
               content_type: str = "text/plain",
               format_code: tuple[str, str] = ("1.3.6.1.4.1.19376.1.2.3", "urn:ihe:rad:TEXT"),
               event: tuple[str, str] | None = None, study_uid: str = "") -> dict[str, Any]:
    """MHD ITI-65: a SubmissionSet List, one DocumentReference, its Binary (MHD 4.2 ITI TF-2 3.65.4.1.2)."""
    submission, document, binary = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    subject = {"reference": f"Patient/{patient_id}"}
    coding = lambda system, code: {"coding": [{"system": f"urn:oid:{system}", "code": code}]}  # noqa: E731
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": submission, "request": {"method": "POST", "url": "List"}, "resource": {
            "resourceType": "List", "status": "current", "mode": "working", "subject": subject,
            "code": {"coding": [{"system": MHD_LISTS, "code": "submissionset"}]},
            "identifier": [{"use": "official", "system": "urn:ietf:rfc:3986",
                            "value": f"urn:oid:{fresh_oid()}"}],
            "extension": [
                {"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId",
                 "valueIdentifier": {"value": f"urn:oid:{HOSPITAL_A}"}},
                {"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType",
                 "valueCodeableConcept": coding("2.16.840.1.113883.6.1", "18748-4")}],
            "date": "2026-11-23T10:00:00Z",
            "entry": [{"item": {"reference": document}}]}},
        {"fullUrl": document, "request": {"method": "POST", "url": "DocumentReference"}, "resource": {
            "resourceType": "DocumentReference", "status": "current", "subject": subject,
            # The patient as the source knows them (sourcePatientId, ITI TF-3 4.2.3.2.23).
            "contained": [{"resourceType": "Patient", "id": "source",
                           "identifier": [{"system": f"urn:oid:{HOSPITAL_A}", "value": mrn}]}],
            "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{unique_id}"},
            "type": coding("2.16.840.1.113883.6.1", "18748-4"),
            "category": [coding("1.3.6.1.4.1.19376.1.2.6.1", "IMAGES")],
            "securityLabel": [coding("2.16.840.1.113883.5.25", "N")],
            "date": "2026-11-23T09:30:00Z",
            "content": [{"attachment": {"contentType": content_type, "language": "en-US", "url": binary,
                                        "creation": "2026-11-23T09:30:00Z"},
                         "format": {"system": f"urn:oid:{format_code[0]}", "code": format_code[1]}}],
            "context": {"facilityType": coding("2.16.840.1.113883.6.96", "22232009"),
                        "practiceSetting": coding("2.16.840.1.113883.6.96", "394914008"),
                        "sourcePatientInfo": {"reference": "#source"},
                        **({"event": [coding(*event)]} if event else {}),
                        **({"related": [_study(study_uid)]} if study_uid else {})}}},
        {"fullUrl": binary, "request": {"method": "POST", "url": "Binary"}, "resource": {
            "resourceType": "Binary", "contentType": content_type,
            "data": base64.b64encode(content).decode()}},
    ]}


def _study(study_uid: str) -> dict[str, Any]:
    """referenceIdList: the study a KOS manifest describes (RAD TF-3 4.68.4.1.2.3)."""
    kind = {"coding": [{"system": "urn:ietf:rfc:3986", "code": "urn:ihe:iti:xds:2016:studyInstanceUID"}]}
    return {"identifier": {"type": kind, "system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}}
