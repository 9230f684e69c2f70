"""ITI-9 PIX Query over HL7 v2 (ITI TF-2a 3.9): QBP^Q23 in, RSP^K23 out."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import services as audit
from audit.events import Peer, query, this_node
from empi import selectors, services
from empi.handlers.v2.wire import UNKNOWN_KEY_IDENTIFIER, Malformed, Reader, peer_name, requested_domains
from mllp.ack import build_ack, message_header
from mllp.codes import REQUIRED_FIELD_MISSING, AckCode, AckError
from mllp.message import Header, read_header
from organisations.models import AssigningAuthority

TRANSACTION = "ITI-9"
RESPONSE_TYPE = ("RSP", "K23", "RSP_K23")  # ITI TF-2a 3.9.4.2.2


def pix_query(message: Any) -> str:
    """ITI TF-2a 3.9.4.2.2.6: OK with the PID of the cross-referenced identifiers (case 1); NF when
    the patient is known but has no identifier in the domains asked for (case 2); AE with ERR 204
    at QPD-3.1 for an identifier the manager does not know (case 3), at QPD-3.4 for an unknown
    assigning authority (case 4) and at QPD-4 for an unknown domain asked for (case 5)."""
    header = read_header(message)
    reader = Reader(message, header)
    qpd = reader.segment("QPD")
    raw_qpd = header.field_separator.join(qpd).encode() if qpd else b""
    asked = ""
    try:
        qpd = reader.required_segment("QPD")
        cx = reader.cx(reader.repetitions(reader.field(qpd, 3))[0] if reader.field(qpd, 3) else "")
        if not cx.id:
            raise Malformed(AckError(REQUIRED_FIELD_MISSING, ("QPD", "1", "3", "1", "1"),
                                     "QPD-3 names no patient identifier"))
        asked = f"{cx.id}^^^{cx.namespace_id}&{cx.universal_id}&{cx.universal_id_type}"
        authority = selectors.authority_find(namespace_id=cx.namespace_id, universal_id=cx.universal_id)
        if authority is None:
            raise Malformed(AckError(UNKNOWN_KEY_IDENTIFIER, ("QPD", "1", "3", "1", "4"),
                                     "The assigning authority of QPD-3 is not known"))
        # ITI TF-2a 3.9.4.2.2.6, case 5: every domain of QPD-4 must be known.
        domains = requested_domains(reader, qpd, field=4)
        if not selectors.identifier_known(authority=authority, identifier=cx.id):
            raise Malformed(AckError(UNKNOWN_KEY_IDENTIFIER, ("QPD", "1", "3", "1", "1"),
                                     "The patient identifier of QPD-3 is not known"))
    except Malformed as problem:
        _audit(header, raw_qpd, [asked] if asked else [], outcome=4)
        return _response(header, reader, qpd, AckCode.ERROR, error=problem.error)
    found = selectors.cross_references(authority=authority, identifier=cx.id, domains=domains)
    _audit(header, raw_qpd, [f"{cx.id}^^^{authority.cx4}"], outcome=0)
    return _response(header, reader, qpd, AckCode.ACCEPT, found=found)


def _response(header: Header, reader: Reader, qpd: list[str] | None, code: AckCode, *,
              error: AckError | None = None,
              found: list[tuple[AssigningAuthority, str]] | None = None) -> str:
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
    if found:
        component, subcomponent = reader.component, reader.subcomponent
        identifiers = reader.repetition.join(
            component.join([header.escape(identifier), "", "",
                            subcomponent.join(header.escape(part) for part in (
                                authority.namespace_id, authority.universal_id,
                                authority.universal_id_type))])
            for authority, identifier in found)
        # ITI TF-2a 3.9.4.2.2.6: PID-5 carries one empty name of type S (pseudonym).
        segments.append(separator.join(["PID", "1", "", identifiers, "",
                                        f"{reader.repetition}{component * 6}S"]))
    return "\r".join(segments) + "\r"


def _audit(header: Header, raw_qpd: bytes, patient_ids: list[str], *, outcome: int) -> None:
    # ITI TF-2a 3.9.5.1: the query (its QPD segment) and the patient asked about.
    with transaction.atomic():
        audit.record(query(
            transaction=TRANSACTION, sender=Peer(user_id=peer_name(header.sending_application,
                                                                   header.sending_facility)),
            receiver=this_node(services.RECEIVER), raw_query=raw_qpd, patient_ids=patient_ids,
            message_id=header.control_id, outcome=outcome))
