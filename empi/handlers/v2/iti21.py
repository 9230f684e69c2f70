"""ITI-21 Patient Demographics Query over HL7 v2 (ITI TF-2a 3.21): QBP^Q22 in, RSP^K22 out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db import transaction

from audit import services as audit
from audit.events import Peer, query, this_node
from empi import selectors, selectors_pdq, services
from empi.handlers.v2.wire import UNKNOWN_KEY_IDENTIFIER, Malformed, Reader, peer_name, requested_domains
from empi.matching.record import date
from empi.selectors_pdq import IdentifierCriterion, PdqCriteria, PdqMatch
from mllp.ack import build_ack, message_header
from mllp.codes import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, AckCode, AckError
from mllp.message import Header, read_header

TRANSACTION = "ITI-21"
RESPONSE_TYPE = ("RSP", "K22", "RSP_K21")  # ITI TF-2a 3.21.4.2.2

# QPD-3 field paths (ITI TF-2a 3.21.4.1.2.2) and the criterion each one sets. Paths not listed
# here (PID.18 account number, PID.11.6 country...) are not kept by the EMPI and are ignored.
_CRITERIA = {
    "PID.5.1": "family", "PID.5.1.1": "family", "PID.5.2": "given", "PID.5.3": "middle",
    "PID.6.1": "mothers_maiden_name", "PID.6.1.1": "mothers_maiden_name",
    "PID.7": "birth_date", "PID.7.1": "birth_date", "PID.8": "sex",
    "PID.11.1": "street", "PID.11.1.1": "street", "PID.11.3": "city", "PID.11.5": "postcode",
    "PID.13": "phone", "PID.13.1": "phone", "PID.19": "national_id",
}
_AUTHORITY_PARTS = {"PID.3.4.1": "namespace_id", "PID.3.4.2": "universal_id",
                    "PID.3.4.3": "universal_id_type"}


def patient_demographics_query(message: Any) -> str:
    """ITI TF-2a 3.21.4.2.2.8: OK with one PID per matching patient, NF when none, AE with ERR
    for a query the supplier cannot run; a DSC with the continuation pointer when RCP-2 cut the
    answer short, and the next page for a QBP that quotes it in DSC-1 (3.21.4.1.2.4)."""
    header = read_header(message)
    reader = Reader(message, header)
    qpd = reader.segment("QPD")
    raw_qpd = header.field_separator.join(qpd).encode() if qpd else b""
    try:
        qpd = reader.required_segment("QPD")
        criteria = _criteria(reader, qpd)
        # ITI TF-2a 3.21.4.2.2.8: every domain of QPD-8 must be known.
        domains = requested_domains(reader, qpd, field=8)
        limit = _quantity_limit(reader)
        query_tag = reader.field(qpd, 2)
        pointer = _continuation_pointer(reader)
        with transaction.atomic():
            if pointer:
                person_ids = selectors_pdq.continuation_take(pointer=pointer, query_tag=query_tag)
                if person_ids is None:
                    raise Malformed(AckError(UNKNOWN_KEY_IDENTIFIER, ("DSC", "1", "1"),
                                             "The continuation pointer of DSC-1 is not known"))
            else:
                person_ids = selectors_pdq.pdq_search(criteria=criteria, domains=domains)
            page, rest = (person_ids[:limit], person_ids[limit:]) if limit else (person_ids, [])
            next_pointer = (selectors_pdq.continuation_create(query_tag=query_tag, remaining=rest)
                            if rest else "")
            found = selectors_pdq.pdq_matches(person_ids=page, criteria=criteria, domains=domains)
            _audit(header, raw_qpd, [m.person.enterprise_id for m in found], outcome=0)
    except Malformed as problem:
        with transaction.atomic():
            _audit(header, raw_qpd, [], outcome=4)
        return _response(header, reader, qpd, AckCode.ERROR, error=problem.error)
    return _response(header, reader, qpd, AckCode.ACCEPT, found=found, pointer=next_pointer)


def _criteria(reader: Reader, qpd: list[str]) -> PdqCriteria:
    """QPD-3 as `@PID.5.1^SMITH~@PID.3.1^A123~@PID.3.4.2^1.2.3`: each @PID.3.1 starts an
    identifier and the @PID.3.4.x after it name its assigning authority."""
    values: dict[str, Any] = {}
    identifiers: list[dict[str, str]] = []
    for number, repetition in enumerate(reader.field(qpd, 3).split(reader.repetition), start=1):
        if not repetition:
            continue
        path, value = reader.components(repetition, 2)
        path = path.lstrip("@")
        if path in ("PID.3.1", "PID.3"):
            identifiers.append({"identifier": value})
        elif path in _AUTHORITY_PARTS:
            if not identifiers or _AUTHORITY_PARTS[path] in identifiers[-1]:
                identifiers.append({"identifier": ""})
            identifiers[-1][_AUTHORITY_PARTS[path]] = value
        elif path in _CRITERIA and value:
            if _CRITERIA[path] == "birth_date" and not date(value):
                raise Malformed(AckError(DATA_TYPE_ERROR, ("QPD", "1", "3", str(number)),
                                         "The birth date asked for is not a date"))
            values[_CRITERIA[path]] = value
    criteria = replace(PdqCriteria(), **values)
    resolved: list[IdentifierCriterion] = []
    for parts in identifiers:
        if not parts["identifier"]:
            continue
        authority = None
        if parts.get("namespace_id") or parts.get("universal_id"):
            authority = selectors.authority_find(namespace_id=parts.get("namespace_id", ""),
                                                 universal_id=parts.get("universal_id", ""))
            if authority is None:
                # No patient of a domain the affinity domain does not know can match.
                criteria = replace(criteria, impossible=True)
                continue
        resolved.append(IdentifierCriterion(identifier=parts["identifier"], authority=authority))
    criteria = replace(criteria, identifiers=tuple(resolved))
    if criteria.is_empty():
        raise Malformed(AckError(REQUIRED_FIELD_MISSING, ("QPD", "1", "3"),
                                 "QPD-3 names no demographics field the supplier searches"))
    return criteria


def _quantity_limit(reader: Reader) -> int:
    """RCP-2 `10^RD`: at most that many records per answer; 0 for no limit."""
    rcp = reader.segment("RCP")
    quantity, units = reader.components(reader.field(rcp, 2), 2) if rcp else ("", "")
    if not quantity:
        return 0
    if not quantity.isdigit() or int(quantity) < 1 or units not in ("", "RD"):
        raise Malformed(AckError(DATA_TYPE_ERROR, ("RCP", "1", "2"),
                                 "RCP-2 is not a number of records"))
    return int(quantity)


def _continuation_pointer(reader: Reader) -> str:
    dsc = reader.segment("DSC")
    return reader.value(reader.field(dsc, 1)) if dsc else ""


def _response(header: Header, reader: Reader, qpd: list[str] | None, code: AckCode, *,
              error: AckError | None = None, found: list[PdqMatch] | None = None,
              pointer: str = "") -> str:
    separator = header.field_separator
    segments = [message_header(header, message_type=RESPONSE_TYPE),
                separator.join(["MSA", code.value, header.control_id])]
    if error is not None:
        # The ERR segment exactly as an ACK would carry it, in the inbound version's form.
        segments.append(build_ack(header, code, error).split("\r")[2])
    query_tag = reader.field(qpd, 2) if qpd else ""
    status = "AE" if error is not None else ("OK" if found else "NF")
    segments.append(separator.join(["QAK", query_tag, status]))
    if qpd:
        segments.append(separator.join(qpd))
    for number, match in enumerate(found or [], start=1):
        segments.append(_pid(header, reader, number, match))
    if pointer:
        # ITI TF-2a 3.21.4.2.2.9: the pointer to quote for the rest, I for incremental.
        segments.append(separator.join(["DSC", header.escape(pointer), "I"]))
    return "\r".join(segments) + "\r"


def _pid(header: Header, reader: Reader, number: int, match: PdqMatch) -> str:
    """One PID: PID-3 from the domains returned, the rest as the speaking record's feed sent it."""
    component, subcomponent = reader.component, reader.subcomponent
    identifiers = reader.repetition.join(
        component.join([header.escape(identifier), "", "",
                        subcomponent.join(header.escape(part) for part in (
                            authority.namespace_id, authority.universal_id,
                            authority.universal_id_type))])
        for authority, identifier in match.identifiers)
    fields = ["PID", str(number), "", identifiers] + [""] * 16
    record = match.record
    if record is not None:
        raw = record.raw or {}
        fallback = {
            5: component.join(header.escape(part) for part in (
                record.family, record.given, record.middle, "", "", "", "L")),
            6: header.escape(record.mothers_maiden_name), 7: record.birth_date, 8: record.sex,
            11: component.join(header.escape(part) for part in (
                record.street, "", record.city, "", record.postcode)).rstrip(component),
            13: header.escape(record.phone), 19: header.escape(record.national_id),
        }
        for field_number, value in fallback.items():
            fields[field_number] = raw.get(f"PID-{field_number}") or value
    return header.field_separator.join(fields).rstrip(header.field_separator)


def _audit(header: Header, raw_qpd: bytes, patient_ids: list[str], *, outcome: int) -> None:
    # ITI TF-2a 3.21.5.1: the query (its QPD segment) and the patients the answer returns.
    audit.record(query(
        transaction=TRANSACTION, sender=Peer(user_id=peer_name(header.sending_application,
                                                               header.sending_facility)),
        receiver=this_node(services.RECEIVER), raw_query=raw_qpd, patient_ids=patient_ids,
        message_id=header.control_id, outcome=outcome))
