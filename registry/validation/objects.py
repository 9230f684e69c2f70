"""Domain: the checks of one submitted object alone: required attributes, cardinality, formats.

ITI TF-3 Table 4.3.1-3 gives what an XDS Document Source must send (R); the Register
transaction's registry enforces it (ITI TF-2b 3.42.4.1.3).
"""

from __future__ import annotations

from collections.abc import Callable

from registry import errors, metadata
from registry.errors import RegistryError
from registry.models import ON_DEMAND, STABLE
from registry.validation import formats

# ITI TF-3 Table 4.3.1-3, XDS column of the Document Source (ITI-42 from a repository): what
# a DocumentEntry must carry. hash, size and repositoryUniqueId are R for a Stable entry only.
DOCUMENT_REQUIRED = {
    "classCode": "class_code", "confidentialityCode": "confidentiality_code",
    "creationTime": "creation_time", "formatCode": "format_code",
    "healthcareFacilityTypeCode": "healthcare_facility_type_code", "languageCode": "language_code",
    "mimeType": "mime_type", "patientId": "patient_id", "practiceSettingCode": "practice_setting_code",
    "sourcePatientId": "source_patient_id", "typeCode": "type_code", "uniqueId": "unique_id",
    "objectType": "object_type",
}
STABLE_REQUIRED = {"hash": "hash", "size": "size", "repositoryUniqueId": "repository_unique_id"}
SUBMISSION_SET_REQUIRED = {"contentTypeCode": "content_type_code", "patientId": "patient_id",
                           "sourceId": "source_id", "submissionTime": "submission_time",
                           "uniqueId": "unique_id"}
FOLDER_REQUIRED = {"codeList": "code_list", "patientId": "patient_id", "title": "title",
                   "uniqueId": "unique_id"}


def metadata_error(entry: metadata.RegistryObject, attribute: str, context: str) -> RegistryError:
    return RegistryError(errors.METADATA_ERROR, context, f"{entry.location} {attribute}")


def check_document_entry(entry: metadata.DocumentEntry) -> list[RegistryError]:
    """ITI TF-3 4.2.3.2: a DocumentEntry on its own."""
    found = _required(entry, DOCUMENT_REQUIRED)
    if entry.object_type and entry.object_type not in (STABLE, ON_DEMAND):
        found.append(metadata_error(entry, "objectType", f"objectType {entry.object_type!r} is "
                                    "neither the Stable nor the On-Demand DocumentEntry type"))
    if entry.object_type == STABLE:
        found += _required(entry, STABLE_REQUIRED)
    found += _formats(entry, {
        "uniqueId": (entry.unique_id, formats.is_document_unique_id, "an OID, optionally ^extension"),
        "creationTime": (entry.creation_time, formats.is_dtm, "a DTM (YYYY[MM[DD[hh[mm[ss]]]]])"),
        "serviceStartTime": (entry.service_start_time, formats.is_dtm, "a DTM"),
        "serviceStopTime": (entry.service_stop_time, formats.is_dtm, "a DTM"),
        "hash": (entry.hash, formats.is_sha1, "a SHA-1 in hexadecimal"),
        "size": (entry.size, formats.is_size, "a number of octets"),
        "mimeType": (entry.mime_type, formats.is_mime_type, "a MIME type"),
        "repositoryUniqueId": (entry.repository_unique_id, formats.is_oid, "an OID"),
    })
    found += _patient_ids(entry, {"patientId": entry.patient_id,
                                  "sourcePatientId": entry.source_patient_id})
    codes = [(n, c) for n, c in (("classCode", entry.class_code), ("typeCode", entry.type_code),
                                 ("formatCode", entry.format_code),
                                 ("healthcareFacilityTypeCode", entry.healthcare_facility_type_code),
                                 ("practiceSettingCode", entry.practice_setting_code)) if c]
    codes += [("confidentialityCode", c) for c in entry.confidentiality_code]
    codes += [("eventCodeList", c) for c in entry.event_code_list]
    found += _codes(entry, codes)
    found += _common(entry)
    return found


def check_submission_set(entry: metadata.SubmissionSet) -> list[RegistryError]:
    """ITI TF-3 4.2.3.3: a SubmissionSet on its own."""
    found = _required(entry, SUBMISSION_SET_REQUIRED)
    found += _formats(entry, {
        "uniqueId": (entry.unique_id, formats.is_oid, "an OID"),
        "sourceId": (entry.source_id, formats.is_source_id, "an OID"),
        "submissionTime": (entry.submission_time, formats.is_dtm, "a DTM"),
    })
    found += _patient_ids(entry, {"patientId": entry.patient_id})
    found += _codes(entry, [("contentTypeCode", entry.content_type_code)] if entry.content_type_code else [])
    found += _common(entry)
    return found


def check_folder(entry: metadata.Folder) -> list[RegistryError]:
    """ITI TF-3 4.2.3.4: a Folder on its own."""
    found = _required(entry, FOLDER_REQUIRED)
    found += _formats(entry, {"uniqueId": (entry.unique_id, formats.is_oid, "an OID")})
    found += _patient_ids(entry, {"patientId": entry.patient_id})
    found += _codes(entry, [("codeList", c) for c in entry.code_list])
    found += _common(entry)
    return found


def check_association(entry: metadata.Association) -> list[RegistryError]:
    """ITI TF-3 4.2.2: a known type, both ends named."""
    found: list[RegistryError] = []
    if entry.association_type not in metadata.ASSOCIATION_TYPES:
        found.append(metadata_error(entry, "associationType",
                                    f"associationType {entry.association_type!r} is not an XDS one"))
    for name, value in (("sourceObject", entry.source_uuid), ("targetObject", entry.target_uuid)):
        if not value:
            found.append(metadata_error(entry, name, f"the association has no {name}"))
    return found + _common(entry)


def _required(entry: metadata.RegistryObject, required: dict[str, str]) -> list[RegistryError]:
    return [metadata_error(entry, name, f"{entry.kind} {entry.symbolic_id or entry.entry_uuid} "
                           f"has no {name}, which is required")
            for name, field in required.items() if not getattr(entry, field)]


def _formats(entry: metadata.RegistryObject,
             checks: dict[str, tuple[str, Callable[[str], bool], str]]) -> list[RegistryError]:
    return [metadata_error(entry, name, f"{name} {value!r} is not {expected}")
            for name, (value, valid, expected) in checks.items() if value and not valid(value)]


def _patient_ids(entry: metadata.RegistryObject, values: dict[str, str]) -> list[RegistryError]:
    # ITI TF-3 4.2.3.1.7: CX with only CX.1 and CX.4, CX.4 an ISO OID.
    return [metadata_error(entry, name, f"{name} {value!r} is not id^^^&OID&ISO")
            for name, value in values.items() if value and formats.cx_authority(value) is None]


def _codes(entry: metadata.RegistryObject, codes: list[tuple[str, metadata.Code]]) -> list[RegistryError]:
    # ITI TF-3 4.2.3.1.2: a code has a value and the scheme it is from.
    return [metadata_error(entry, kind, f"{kind} {code.code!r} has no "
                           f"{'codingScheme' if code.code else 'code value'}")
            for kind, code in codes if not code.code or not code.scheme]


def _common(entry: metadata.RegistryObject) -> list[RegistryError]:
    found = [metadata_error(entry, name, f"{name} may appear only once")
             for name in dict.fromkeys(entry.repeated)]
    found += [metadata_error(entry, "scheme", f"{scheme!r} is not a classification or identification "
                             f"scheme of a {entry.kind}") for scheme in dict.fromkeys(entry.unknown_schemes)]
    return found
