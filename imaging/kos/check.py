"""Domain: a KOS manifest checked against its DocumentEntry (RAD TF-3 4.68.4.1.2.3, XDS-I.b metadata).

Every mismatch is one RegistryError, all found at once so that the source fixes them together.
A context names attributes and UIDs, never a patient's identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

from imaging.kos.manifest import Accession, Manifest, PatientIdentifier
from registry.errors import RegistryError
from registry.metadata import DocumentEntry

# ITI TF-3 Table 4.2.4.1-2: the repository's code for metadata inconsistent with its document.
REPOSITORY_METADATA_ERROR = "XDSRepositoryMetadataError"

# RAD TF-3 4.68.4.1.2.3.2: the KOS SOP class UID, in the DICOM UID Registry's scheme.
KOS_FORMAT_CODE = "1.2.840.10008.5.1.4.1.1.88.59"
KOS_FORMAT_SCHEME = "1.2.840.10008.2.6.1"
# RAD TF-3 4.68.4.1.2.1: the manifest travels as a DICOM Part 10 file.
KOS_MIME_TYPE = "application/dicom"
# ITI TF-3 Table 4.2.3.1.7-2: the CXi types of referenceIdList that XDS-I.b uses.
STUDY_INSTANCE_UID_TYPE = "urn:ihe:iti:xds:2016:studyInstanceUID"
ACCESSION_TYPE = "urn:ihe:iti:xds:2013:accession"
# The DICOM Controlled Terminology, by its coding-scheme designator or its OID (PS3.16 8).
DCM_SCHEMES = frozenset(("DCM", "1.2.840.10008.2.16.4"))
# DICOM PS3.16 CID 29 "Acquisition Modality": eventCodeList's modalities (scheme DCM). SR, KO
# and PR series are not acquisitions, so they never require an event code.
ACQUISITION_MODALITIES = frozenset((
    "AR", "AS", "BI", "BMD", "CD", "CF", "CP", "CR", "CS", "CT", "DD", "DG", "DM", "DX", "EC", "ECG",
    "EPS", "ES", "FA", "FS", "GM", "HC", "HD", "IO", "IVOCT", "IVUS", "KER", "LEN", "LP", "LS", "MA",
    "MG", "MR", "MS", "NM", "OAM", "OCT", "OP", "OPM", "OPR", "OPT", "OPV", "OSS", "PT", "PX", "RF",
    "RG", "SM", "SRF", "ST", "TG", "US", "VA", "VF", "XA", "XC",
))


def manifest_check(*, manifest: Manifest, entry: DocumentEntry) -> list[RegistryError]:
    """What in `entry` disagrees with `manifest`; empty when they agree."""
    return [
        *_format(entry),
        *_patient(manifest, entry),
        *_reference_ids(manifest, entry),
        *_modalities(manifest, entry),
    ]


@dataclass(frozen=True)
class _CXi:
    """ITI TF-3 Table 4.2.3.1.7-2: value^^^&oid&ISO^type (CX-1, CX-4's universal id, CX-5)."""

    value: str
    authority_oid: str
    type: str


def _error(entry: DocumentEntry, attribute: str, context: str) -> RegistryError:
    return RegistryError(REPOSITORY_METADATA_ERROR, context, f"{entry.location} {attribute}")


def _format(entry: DocumentEntry) -> list[RegistryError]:
    errors = []
    code = entry.format_code
    # RAD TF-3 4.68.4.1.2.3.2: formatCode is the KOS SOP class UID in the DICOM UID registry.
    if code is None or code.code != KOS_FORMAT_CODE:
        errors.append(_error(entry, "formatCode",
                             f"formatCode {code.code if code else '(none)'} is not {KOS_FORMAT_CODE}, "
                             "the SOP class of a KOS manifest"))
    elif code.scheme != KOS_FORMAT_SCHEME:
        errors.append(_error(entry, "formatCode",
                             f"formatCode's codingScheme {code.scheme or '(none)'} is not "
                             f"{KOS_FORMAT_SCHEME}, the DICOM UID Registry"))
    # RAD TF-3 4.68.4.1.2.1: a KOS is sent as a Part 10 file of MIME type application/dicom.
    if entry.mime_type != KOS_MIME_TYPE:
        errors.append(_error(entry, "mimeType",
                             f"mimeType {entry.mime_type or '(none)'} is not {KOS_MIME_TYPE}"))
    return errors


def _patient(manifest: Manifest, entry: DocumentEntry) -> list[RegistryError]:
    """RAD TF-3 4.68.4.1.2.3.2: sourcePatientId is the KOS's Patient ID (0010,0020) and Issuer
    (0010,0021); patientId is the affinity domain's ID, which a KOS may carry too."""
    source = _cx(entry.source_patient_id)
    if source and _same_patient(manifest.patient, source):
        return []
    domain = _cx(entry.patient_id)
    if domain and any(_same_patient(p, domain) for p in (manifest.patient, *manifest.other_patient_ids)):
        return []
    return [_error(entry, "sourcePatientId",
                   "the manifest's Patient ID (0010,0020) and Issuer of Patient ID (0010,0021) match "
                   "neither sourcePatientId nor patientId")]


def _same_patient(patient: PatientIdentifier, cx: _CXi) -> bool:
    if not patient.patient_id or patient.patient_id != cx.value:
        return False
    # A KOS without an issuer cannot contradict the CX's assigning authority.
    return not patient.issuer_oid or patient.issuer_oid == cx.authority_oid


def _reference_ids(manifest: Manifest, entry: DocumentEntry) -> list[RegistryError]:
    """RAD TF-3 4.68.4.1.2.3.2: referenceIdList names the manifest's studies and accessions."""
    errors = []
    parsed = []
    for n, value in enumerate(entry.reference_id_list, start=1):
        cxi = _cx(value)
        if cxi is None or not cxi.type:
            errors.append(_error(entry, "referenceIdList",
                                 f"referenceIdList value {n} is not a CXi (value^^^^type)"))
        else:
            parsed.append(cxi)

    listed = {c.value for c in parsed if c.type == STUDY_INSTANCE_UID_TYPE}
    # Sources from before the studyInstanceUID type (2016) list no study at all: accepted, as the
    # NIST XDS-I test data is. Once one is listed, the lists must agree both ways.
    if listed:
        referenced = {s.study_instance_uid for s in manifest.studies}
        for uid in sorted(referenced - listed):
            errors.append(_error(entry, "referenceIdList",
                                 f"Study Instance UID {uid} of the manifest is not in referenceIdList"))
        for uid in sorted(listed - referenced):
            errors.append(_error(entry, "referenceIdList",
                                 f"Study Instance UID {uid} in referenceIdList is not in the manifest's "
                                 "Current Requested Procedure Evidence Sequence"))

    accessions = [c for c in parsed if c.type == ACCESSION_TYPE]
    if accessions:
        for accession in manifest.accessions:
            if not any(_same_accession(accession, c) for c in accessions):
                errors.append(_error(entry, "referenceIdList",
                                     f"Accession Number {accession.accession_number} of the manifest "
                                     "is not in referenceIdList"))
    return errors


def _same_accession(accession: Accession, cxi: _CXi) -> bool:
    if accession.accession_number != cxi.value:
        return False
    return not (accession.issuer_oid and cxi.authority_oid) or accession.issuer_oid == cxi.authority_oid


def _modalities(manifest: Manifest, entry: DocumentEntry) -> list[RegistryError]:
    """RAD TF-3 4.68.4.1.2.3.2: eventCodeList has a CID 29 code (scheme DCM) for each distinct
    acquisition modality of the study. Checked only as far as the KOS's series carry Modality."""
    series = [s for study in manifest.studies for s in study.series]
    known = {s.modality for s in series if s.modality}
    if not known:
        return []
    # DCM's concept codes are numeric (113030); its modality codes are letters.
    coded = {c.code for c in entry.event_code_list if c.scheme in DCM_SCHEMES and not c.code.isdigit()}
    errors = []
    # Only when every series says its modality can an event code be known to have no series.
    if all(s.modality for s in series):
        for code in sorted(coded - known):
            errors.append(_error(entry, "eventCodeList",
                                 f"eventCodeList modality {code} is not the Modality of any series "
                                 "of the manifest"))
    for modality in sorted((known & ACQUISITION_MODALITIES) - coded):
        errors.append(_error(entry, "eventCodeList",
                             f"Modality {modality} of the manifest's series has no code in eventCodeList"))
    return errors


def _cx(value: str) -> _CXi | None:
    """A CX or CXi value: ID^^^&oid&ISO[^type]; None when it has no ID or not four components."""
    parts = value.split("^")
    if len(parts) < 4 or not parts[0]:
        return None
    authority = parts[3].split("&")
    return _CXi(value=parts[0], authority_oid=authority[1] if len(authority) > 1 else "",
                type=parts[4] if len(parts) > 4 else "")
