"""Edge: a KOS manifest's Part 10 file read with pydicom into a plain Manifest.

The file comes from outside (an MTOM attachment of RAD-68), so nothing in it is trusted: any
failure to read it, or a SOP class other than KOS, is NotAManifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from imaging.kos.manifest import (
    Accession,
    EvidenceInstance,
    EvidenceSeries,
    EvidenceStudy,
    Manifest,
    PatientIdentifier,
)

# PS3.4 B.5: Key Object Selection Document Storage.
KOS_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.88.59"


class NotAManifest(Exception):
    """The file is not a readable KOS; `reason` says why, without patient data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def manifest_read(path: Path) -> Manifest:
    """The KOS at `path`, or NotAManifest."""
    try:
        ds = dcmread(path, stop_before_pixels=True)
        sop_class_uid = _text(ds, "SOPClassUID")
        if sop_class_uid != KOS_SOP_CLASS_UID:
            raise NotAManifest(f"SOP Class UID {sop_class_uid or '(none)'} is not Key Object Selection")
        manifest = _manifest(ds)
    except NotAManifest:
        raise
    except InvalidDicomError as exc:
        raise NotAManifest(f"not a DICOM Part 10 file: {exc}") from exc
    except Exception as exc:  # a malformed file can fail anywhere in pydicom's lazy decoding
        raise NotAManifest(f"unreadable DICOM file: {type(exc).__name__}") from exc
    # RAD TF-3 4.68.4.1.2.2: the references are in the evidence sequence; a KOS without any
    # shares nothing.
    if not manifest.studies:
        raise NotAManifest("no Current Requested Procedure Evidence Sequence (0040,A375) item")
    return manifest


def _manifest(ds: Dataset) -> Manifest:
    return Manifest(
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        patient=_patient(ds),
        other_patient_ids=tuple(_patient(item) for item in _items(ds, "OtherPatientIDsSequence")),
        study_instance_uid=_text(ds, "StudyInstanceUID"),
        accession=_accession(ds),
        study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"),
        studies=tuple(_study(item) for item in _items(ds, "CurrentRequestedProcedureEvidenceSequence")),
        requested_accessions=tuple(
            a for a in (_accession(item) for item in _items(ds, "ReferencedRequestSequence")) if a
        ),
    )


def _patient(ds: Dataset) -> PatientIdentifier:
    qualifiers = _items(ds, "IssuerOfPatientIDQualifiersSequence")
    first = qualifiers[0] if qualifiers else Dataset()
    return PatientIdentifier(
        patient_id=_text(ds, "PatientID"),
        issuer_of_patient_id=_text(ds, "IssuerOfPatientID"),
        universal_entity_id=_text(first, "UniversalEntityID"),
        universal_entity_id_type=_text(first, "UniversalEntityIDType"),
    )


def _accession(ds: Dataset) -> Accession | None:
    number = _text(ds, "AccessionNumber")
    if not number:
        return None
    issuers = _items(ds, "IssuerOfAccessionNumberSequence")
    issuer = _text(issuers[0], "UniversalEntityID") if issuers else ""
    return Accession(accession_number=number, issuer_oid=issuer)


def _study(item: Dataset) -> EvidenceStudy:
    return EvidenceStudy(
        study_instance_uid=_uid(item, "StudyInstanceUID"),
        accession=_accession(item),
        series=tuple(_series(s) for s in _items(item, "ReferencedSeriesSequence")),
    )


def _series(item: Dataset) -> EvidenceSeries:
    return EvidenceSeries(
        series_instance_uid=_uid(item, "SeriesInstanceUID"),
        retrieve_ae_title=_text(item, "RetrieveAETitle"),
        retrieve_location_uid=_text(item, "RetrieveLocationUID"),
        modality=_text(item, "Modality"),
        instances=tuple(
            EvidenceInstance(referenced_sop_class_uid=_uid(i, "ReferencedSOPClassUID"),
                             referenced_sop_instance_uid=_uid(i, "ReferencedSOPInstanceUID"))
            for i in _items(item, "ReferencedSOPSequence")
        ),
    )


def _uid(ds: Dataset, keyword: str) -> str:
    """A Type 1 UID of the reference macro (PS3.3 C.17.2.1): present, and at most 64 characters
    (PS3.5 9.1), since the index keeps it in a column of that size."""
    value = _text(ds, keyword)
    if not value or len(value) > 64:
        raise NotAManifest(f"{keyword} of an evidence item is {'too long' if value else 'missing'}")
    return value


def _items(ds: Dataset, keyword: str) -> list[Dataset]:
    value = ds.get(keyword)
    return list(value) if value else []


def _text(ds: Dataset, keyword: str) -> str:
    """A string attribute's (first) value, stripped; "" when absent or empty."""
    value: Any = ds.get(keyword)
    if value is None or value == "":
        return ""
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else ""
    return str(value).strip()
