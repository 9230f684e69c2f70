"""Patient identifiers between FHIR and HL7: `urn:oid:` systems, CX strings, Patient references.

A Patient resource of this facade is an EMPI person (`Patient/{person pk}`): the enterprise
identity with every identifier linked to it, as a PIX manager's golden record. Documents are
registered under the person's enterprise ID (the affinity-domain patient ID, ITI TF-3
4.2.3.1.4), so a document's subject is a reference to that person.
"""

from __future__ import annotations

import re
from typing import Any

from empi import selectors as empi
from fhir_api.errors import bad_request
from fhir_api.search import Token, row_key
from organisations.models import AssigningAuthority

_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")


def system_of(universal_id: str) -> str:
    """An assigning authority's OID as a FHIR identifier system (FHIR R4 3.3.3: urn:oid:)."""
    return f"urn:oid:{universal_id}" if _OID.match(universal_id) else universal_id


def oid_of(system: str) -> str:
    return system[len("urn:oid:"):] if system.startswith("urn:oid:") else system


def authority_of(system: str) -> AssigningAuthority | None:
    return empi.authority_find(universal_id=oid_of(system)) if system else None


def cx(value: str, universal_id: str) -> str:
    """HL7 CX as the registry keeps patient IDs: `id^^^&OID&ISO`."""
    return f"{value}^^^&{universal_id}&ISO"


def identifier_of_cx(text: str) -> dict[str, str]:
    """`id^^^&OID&ISO` as a FHIR Identifier."""
    value, _, rest = text.partition("^^^")
    parts = rest.split("&")
    oid = parts[1] if len(parts) >= 2 else ""
    return {"system": system_of(oid), "value": value} if oid else {"value": value}


def cx_of_token(token: Token, *, expression: str) -> str:
    """`patient.identifier=urn:oid:1.2|123` as the CX the registry stores; 400 without a system."""
    if not token.system:
        raise bad_request(f"{expression} needs a system: urn:oid:<assigning authority OID>|<id>",
                          expression=expression)
    return cx(token.code, oid_of(token.system))


def enterprise_ids_of_reference(reference: str) -> list[str]:
    """The enterprise ID (CX) of `Patient/{pk}`, including those merged into it; [] if unknown."""
    kind, _, key = reference.partition("/")
    row = row_key(key)
    if kind != "Patient" or row is None:
        return []
    person = empi.person_find(row)
    if person is None:
        return []
    return [person.enterprise_id, *(p.enterprise_id for p in person.merged.all())]


def subject_of_cx(text: str, base: str) -> dict[str, Any]:
    """A document's subject: a reference to the person when the EMPI knows the enterprise ID,
    and the identifier always, so that a client without our Patient endpoint can still read it."""
    subject: dict[str, Any] = {"identifier": identifier_of_cx(text)}
    key = empi.person_key_by_enterprise_id(text)
    if key is not None:
        subject = {"reference": f"{base}/Patient/{key}", **subject}
    return subject
