"""The small mappings between XDS metadata and MHD resources both directions share (MHD 4.2
ITI TF-3 4.5.1, 4.5.2): coding schemes, DTM and dateTime, hashes, identifiers, statuses.

Pure functions of strings: no Django, no database, so that the Document Recipient (ITI-65) and
the Document Responder (ITI-66/67/68) map each attribute the same way.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Any

RFC3986 = "urn:ietf:rfc:3986"
# MHD 4.2 ITI TF-3 4.5.2: the List.code of a SubmissionSet and of a Folder.
LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
SOURCE_ID_EXTENSION = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"
DESIGNATION_TYPE_EXTENSION = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"

_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
_DTM = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2})?)?)?)?)?$")
_DATE_TIME = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                        r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


def is_oid(value: str) -> bool:
    return bool(_OID.match(value))


# --- Coding.system <-> codingScheme (ITI TF-3 4.5.1: an OID scheme is urn:oid:<OID>).

def system_of_scheme(scheme: str) -> str:
    """An XDS codingScheme as a FHIR Coding.system: an OID as `urn:oid:<OID>`, anything else as is."""
    return f"urn:oid:{scheme}" if is_oid(scheme) else scheme


def scheme_of_system(system: str) -> str:
    """A FHIR Coding.system as an XDS codingScheme: `urn:oid:` stripped, anything else as is."""
    return system[len("urn:oid:"):] if system.startswith("urn:oid:") else system


def coding(code: str, scheme: str, display: str = "") -> dict[str, str]:
    """One Coding; Coding.display is the classification's Name."""
    found = {"system": system_of_scheme(scheme), "code": code} if scheme else {"code": code}
    if display:
        found["display"] = display
    return found


def codeable(code: str, scheme: str, display: str = "") -> dict[str, Any]:
    """A CodeableConcept of one Coding."""
    return {"coding": [coding(code, scheme, display)]}


# --- uniqueId and entryUUID as identifier values (ITI TF-3 4.5.1.1.1).

def uri_of_unique_id(unique_id: str) -> str:
    """masterIdentifier.value: `urn:oid:<uniqueId>` for an OID, the uniqueId as is otherwise."""
    return f"urn:oid:{unique_id}" if is_oid(unique_id) else unique_id


def unique_id_of_uri(value: str) -> str:
    return value[len("urn:oid:"):] if value.startswith("urn:oid:") else value


def id_of_entry_uuid(entry_uuid: str) -> str:
    """A resource id: the entryUUID without `urn:uuid:` (36 characters, a valid FHIR id)."""
    return entry_uuid[len("urn:uuid:"):] if entry_uuid.startswith("urn:uuid:") else entry_uuid


def entry_uuid_of_id(resource_id: str) -> str:
    return resource_id if resource_id.startswith("urn:uuid:") else f"urn:uuid:{resource_id}"


# --- availabilityStatus <-> status (ITI TF-3 4.5.1.1: Approved current, Deprecated superseded).

def document_status(availability: str) -> str:
    return "superseded" if availability == DEPRECATED else "current"


def list_status(availability: str) -> str:
    """List.status has no `superseded`: a Deprecated package is `retired`."""
    return "retired" if availability == DEPRECATED else "current"


def availability_of_status(status: str) -> str | None:
    """The availabilityStatus a FHIR status names; None for one no registry object has."""
    return {"current": APPROVED, "superseded": DEPRECATED, "retired": DEPRECATED}.get(status)


# --- HL7 DTM <-> FHIR dateTime (ITI TF-3 4.2.3.1.7: DTM is UTC, precision may be truncated).

def date_time_of_dtm(dtm: str) -> str:
    """`YYYY[MM[DD[hh[mm[ss]]]]]` as a FHIR dateTime: a date at the DTM's precision, or with a
    time, `YYYY-MM-DDThh:mm:ssZ` (FHIR needs seconds and a zone once there is a time). "" if not a DTM."""
    if not _DTM.match(dtm):
        return ""
    if len(dtm) <= 8:
        return "-".join(part for part in (dtm[:4], dtm[4:6], dtm[6:8]) if part)
    padded = dtm.ljust(14, "0")
    return f"{padded[:4]}-{padded[4:6]}-{padded[6:8]}T{padded[8:10]}:{padded[10:12]}:{padded[12:14]}Z"


def instant_of_dtm(dtm: str) -> str:
    """A FHIR instant (full precision): the DTM padded to the start of its period. "" if not a DTM."""
    if not _DTM.match(dtm):
        return ""
    padded = dtm + "0101"[len(dtm) - 4:] if len(dtm) < 8 else dtm  # month and day 01
    return date_time_of_dtm(padded.ljust(14, "0"))


def dtm_of_date_time(value: str) -> str:
    """A FHIR date or dateTime as DTM in UTC: a date stays at its precision, a time becomes the
    14 digits of the same instant in UTC. "" if `value` is not a FHIR dateTime."""
    match = _DATE_TIME.match(value)
    if not match:
        return ""
    year, month, day, hour, minute, second, zone = match.groups()
    if hour is None:
        return "".join(part for part in (year, month, day) if part)
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return moment.strftime("%Y%m%d%H%M%S")


# --- hash: XDS keeps the SHA-1 in hex, FHIR Attachment.hash is base64 of its 20 bytes.

def base64_of_hex(digest: str) -> str:
    """Attachment.hash of an XDS hash; "" when `digest` is not hex."""
    try:
        return base64.b64encode(bytes.fromhex(digest)).decode("ascii")
    except ValueError:
        return ""


def hex_of_base64(digest: str) -> str:
    """The XDS hash (lowercase hex) of an Attachment.hash; "" when `digest` is not base64."""
    try:
        return base64.b64decode(digest, validate=True).hex()
    except (binascii.Error, ValueError):
        return ""
