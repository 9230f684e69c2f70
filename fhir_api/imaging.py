"""ImagingStudy: each study a registered XDS-I.b KOS manifest references (RAD TF-3 4.68.4.1.2),
from the manifest index, as a FHIR R4 ImagingStudy (imagingstudy.html).

The id of an ImagingStudy is the key of its index row: one study of one manifest, so a study
two Approved manifests reference is two ImagingStudy resources. Only studies of Approved
manifests are shown. A search names its patient or study (patient, patient.identifier,
identifier or _id): the index holds every study of the affinity domain.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings

from fhir_api import audit
from fhir_api.bundle import searchset
from fhir_api.errors import bad_request, not_found
from fhir_api.identity import cx_of_token, enterprise_ids_of_reference, oid_of, subject_of_cx
from fhir_api.request import FhirRequest, FhirResponse
from fhir_api.search import Search, row_key
from imaging.models import ManifestStudy
from imaging.selectors import StudyCriteria, manifest_studies_find, manifest_study_get

DICOM_UID = "urn:dicom:uid"  # FHIR R4 imagingstudy.html: identifier system of a Study Instance UID
DCM = "http://dicom.nema.org/resources/ontology/DCM"
RFC_3986 = "urn:ietf:rfc:3986"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONNECTION_TYPE = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
_NARROWING = ("patient", "patient.identifier", "identifier", "_id")


def find_imaging_studies(request: FhirRequest) -> FhirResponse:
    search = Search(request)
    if not any(search.has(name) for name in _NARROWING):
        raise bad_request("an ImagingStudy search needs patient, patient.identifier, identifier or _id",
                          code="required", expression="patient")
    criteria = _criteria(search)
    studies, total = manifest_studies_find(criteria=criteria, offset=search.offset, limit=search.count)
    audit.queried(request, patient_ids=sorted({s.patient_id for s in studies}))
    resources = [imaging_study(s, base=request.base) for s in studies]
    return FhirResponse(resource=searchset(request, search, resources=resources, total=total))


def read_imaging_study(request: FhirRequest) -> FhirResponse:
    study = manifest_study_get(key) if (key := row_key(request.resource_id)) is not None else None
    if study is None:
        raise not_found(f"ImagingStudy/{request.resource_id} is not known here")
    audit.queried(request, patient_ids=[study.patient_id])
    return FhirResponse(resource=imaging_study(study, base=request.base))


def imaging_study(study: ManifestStudy, *, base: str) -> dict[str, Any]:
    """One index row, its series and instances prefetched, as an ImagingStudy."""
    series = list(study.series.all())
    modalities = list(dict.fromkeys(s.modality for s in series if s.modality))
    identifiers: list[dict[str, Any]] = [
        {"system": DICOM_UID, "value": f"urn:oid:{study.study_instance_uid}"}]
    if study.accession_number:
        # imagingstudy.html: the accession number is an identifier of type ACSN (HL7 v2 table 0203).
        identifiers.append({"type": {"coding": [{"system": V2_0203, "code": "ACSN"}]},
                            "value": study.accession_number})
    endpoints = _endpoints(base)
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy", "id": str(study.pk),
        "contained": endpoints,
        "identifier": identifiers,
        "status": "available",
        "modality": [{"system": DCM, "code": m} for m in modalities],
        "subject": subject_of_cx(study.patient_id, base),
        "started": _started(study.study_date),
        "endpoint": [{"reference": f"#{e['id']}"} for e in endpoints],
        "numberOfSeries": len(series),
        "numberOfInstances": sum(len(s.instances.all()) for s in series),
        "description": study.study_description,
        "series": [{
            "uid": s.series_instance_uid,
            # R4 requires a series' modality; a manifest that leaves it out says nothing better than OT.
            "modality": {"system": DCM, "code": s.modality or "OT"},
            "numberOfInstances": len(s.instances.all()),
            "instance": [{"uid": i.sop_instance_uid,
                          "sopClass": {"system": RFC_3986, "code": f"urn:oid:{i.sop_class_uid}"}}
                         for i in s.instances.all()],
        } for s in series],
    }
    return {k: v for k, v in resource.items() if v not in ("", None, [])}


def _endpoints(base: str) -> list[dict[str, Any]]:
    """Where the study's instances come from: this node's RAD-69 Imaging Document Source, and a
    DICOMweb WADO-RS service when one is configured."""
    node = base.removesuffix("/fhir")
    endpoints = [_endpoint("rad69", "ihe-xds", f"{node}/xds/imaging")]
    if settings.DICOMWEB_BASE_URL:
        endpoints.append(_endpoint("wado", "dicom-wado-rs", settings.DICOMWEB_BASE_URL))
    return endpoints


def _endpoint(key: str, connection_type: str, address: str) -> dict[str, Any]:
    return {"resourceType": "Endpoint", "id": key, "status": "active",
            "connectionType": {"system": CONNECTION_TYPE, "code": connection_type},
            "payloadType": [{"text": "DICOM"}], "address": address}


def _started(study_date: str) -> str:
    """DA (YYYYMMDD) as a FHIR dateTime at day precision; "" when the index has no valid date."""
    try:
        return datetime.strptime(study_date, "%Y%m%d").date().isoformat()
    except ValueError:
        return ""


def _criteria(search: Search) -> StudyCriteria:
    criteria = StudyCriteria()
    for tokens in search.tokens("_id"):
        criteria.pks.append([key for t in tokens if (key := row_key(t.code)) is not None])
    for references in search.references("patient"):
        criteria.patient_ids.append([cx for r in references for cx in enterprise_ids_of_reference(r)])
    for tokens in search.tokens("patient.identifier"):
        criteria.patient_ids.append([cx_of_token(t, expression="patient.identifier") for t in tokens])
    for tokens in search.tokens("identifier"):
        found: list[tuple[str | None, str | None]] = []
        for token in tokens:
            if token.system in (None, DICOM_UID):
                found.append((oid_of(token.code), None))
            if token.system in (None, ""):  # an accession number has no system here
                found.append((None, token.code))
        criteria.identifiers.append(found)
    for ranges in search.dates("started"):
        criteria.study_dates.append([_day_bounds(r.low, r.high) for r in ranges])
    for tokens in search.tokens("modality"):
        criteria.modalities.append([t.code for t in tokens if t.system in (None, DCM)])
    return criteria


def _day_bounds(low: datetime | None, high: datetime | None) -> tuple[str | None, str | None]:
    """A search range as DA bounds, low inclusive and high exclusive: a study's date is a whole
    day, which matches when it overlaps the range (FHIR R4 search.html 3.1.1.5.9)."""
    if high is not None and (high.hour, high.minute, high.second, high.microsecond) != (0, 0, 0, 0):
        high = high + timedelta(days=1) if high.date() < date.max else None
    return (low.strftime("%Y%m%d") if low else None, high.strftime("%Y%m%d") if high else None)

