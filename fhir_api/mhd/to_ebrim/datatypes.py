"""FHIR values as the HL7 v2 data types ebRIM slots carry (CX, CXi, XCN, XON, DTM) and the ids of
the objects a Bundle's entries become (ITI TF-3 4.2.3.1.7, Table 4.2.3.1.7-2)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fhir_api.identity import cx
from fhir_api.mhd import codes

_GENDERS = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


@dataclass(frozen=True)
class BundleEntry:
    position: int  # in Bundle.entry, for expressions and the answer's order
    full_url: str
    resource: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.position}]"


def entry_uuid_of(entry: BundleEntry) -> str:
    """The identifier's urn:uuid (MHD 4.2: the entryUUID, when the source chose it), or a fresh one."""
    for identifier in entry.resource.get("identifier", []):
        value = str(identifier.get("value", ""))
        if value.startswith("urn:uuid:") and is_uuid(value[len("urn:uuid:"):]):
            return value.lower()
    return fresh_uuid()


def is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def fresh_uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def dtm_of(value: object) -> str:
    # The R4 model reads a JSON number as a dateTime too; only a string can be one on the wire.
    return codes.dtm_of_date_time(value) if isinstance(value, str) and value else ""


def coding_of(coding: dict[str, Any]) -> tuple[str, str, str]:
    return (str(coding.get("code", "")), codes.scheme_of_system(str(coding.get("system", ""))),
            str(coding.get("display", "")))


def extension_of(resource: dict[str, Any], url: str) -> dict[str, Any]:
    return next((e for e in resource.get("extension", []) if e.get("url") == url), {})


def first_cx(patient: dict[str, Any]) -> str:
    return next(iter(cxs_of(patient)), "")


def cxs_of(patient: dict[str, Any]) -> list[str]:
    return [cx(i["value"], codes.scheme_of_system(i["system"])) for i in patient.get("identifier", [])
            if str(i.get("system", "")).startswith("urn:oid:") and i.get("value")]


def source_patient_info(patient: dict[str, Any]) -> list[str]:
    """ITI TF-3 4.2.3.2.24: PID-3, PID-5, PID-7 and PID-8 of the contained Patient."""
    values = [f"PID-3|{value}" for value in cxs_of(patient)]
    for name in patient.get("name", [])[:1]:
        values.append(f"PID-5|{name.get('family', '')}^{'^'.join(name.get('given', [])[:2])}^^^")
    if patient.get("birthDate"):
        values.append(f"PID-7|{patient['birthDate'].replace('-', '')}")
    if patient.get("gender") in _GENDERS:
        values.append(f"PID-8|{_GENDERS[patient['gender']]}")
    return values


def cxi_of(identifier: dict[str, Any]) -> str:
    """ITI TF-3 4.2.3.2.28 referenceIdList: value^^^&OID&ISO^type, the type from Identifier.type."""
    system = str(identifier.get("system", ""))
    value = codes.unique_id_of_uri(str(identifier.get("value", "")))
    authority = f"&{codes.scheme_of_system(system)}&ISO" if system.startswith("urn:oid:") else ""
    kind = (((identifier.get("type") or {}).get("coding") or [{}])[0]).get("code", "")
    return f"{value}^^^{authority}^{kind}"


def xcn_of(practitioner: dict[str, Any]) -> str:
    """authorPerson as XCN: id^family^given^^^prefix."""
    name = (practitioner.get("name") or [{}])[0]
    ident = ((practitioner.get("identifier") or [{}])[0]).get("value", "")
    given = (name.get("given") or [""])[0]
    prefix = (name.get("prefix") or [""])[0]
    return f"{ident}^{name.get('family', '')}^{given}^^^{prefix}"


def xon_of(organization: dict[str, Any]) -> str:
    """authorInstitution as XON: name^^^^^^^^^OID."""
    oids = [codes.scheme_of_system(i["system"]) for i in organization.get("identifier", [])
            if str(i.get("system", "")).startswith("urn:oid:")]
    name = str(organization.get("name", ""))
    return f"{name}^^^^^^^^^{oids[0]}" if oids else name
