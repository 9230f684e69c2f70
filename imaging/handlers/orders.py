"""Orders over HL7 v2 (RAD TF-2 4.4 Procedure Scheduled: ORM^O01 in HL7 v2.3.1, OMI^O23 in
HL7 v2.5.1): a new order prefetches the patient's relevant outside priors to the ordering site's
PACS, a cancelled one stops them. Answered with a general ACK, as RAD-4 answers.

The ordering site is the organisation whose assigning authority issued the MRN in PID-3. Over
TLS the certificate's organisation may order only for its own MRNs (ITI TF-2 3.19).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import services as audit
from audit.edges import not_theirs
from audit.events import Peer, query, this_node
from empi.handlers.v2.wire import (
    UNKNOWN_KEY_IDENTIFIER,
    Malformed,
    NotTheirs,
    Reader,
    own_identifiers,
    peer_name,
)
from imaging.prefetch import triggers
from mllp.ack import ack_for, build_ack
from mllp.codes import APPLICATION_INTERNAL_ERROR, REQUIRED_FIELD_MISSING, AckCode, AckError
from mllp.message import Header, read_header
from mllp.peer import peer_organisation
from organisations.models import AssigningAuthority

# HL7 table 0119 (order control codes): new, and the two ways an order is withdrawn.
NEW, CANCEL, DISCONTINUE = "NW", "CA", "DC"
STAT = "S"  # HL7 table 0027 (priority)


def order(message: Any) -> str:
    """ORM^O01 and OMI^O23. Other order control codes (XO, SC, ...) are acknowledged and left."""
    header = read_header(message)
    reader = Reader(message, header)
    raw = b""
    try:
        pid = reader.required_segment("PID")
        orc = reader.required_segment("ORC")
        obr = reader.required_segment("OBR")
        raw = _raw(header, orc, obr)
        control = reader.components(reader.field(orc, 1), 1)[0].upper()
        if not control:
            raise Malformed(AckError(REQUIRED_FIELD_MISSING, ("ORC", "1", "1"), "ORC-1 is empty"))
        authority, mrn = _ordering_patient(reader, pid)
        reference = _order_reference(reader, orc, obr)
        requested_by = peer_name(header.sending_application, header.sending_facility)
        if control == NEW:
            triggers.order_prefetch(
                authority=authority, identifier=mrn, order_reference=reference,
                order_modality=_modality(reader, obr), stat=_priority(reader, orc, obr) == STAT,
                requested_by=requested_by, raw_order=raw)
        elif control in (CANCEL, DISCONTINUE):
            triggers.order_cancel(authority=authority, order_reference=reference,
                                  requested_by=requested_by)
    except Malformed as problem:
        # An identifier or authority the domain does not know is an application error (AE);
        # a message without what RAD TF-2 4.4 requires is rejected (AR).
        code = AckCode.ERROR if problem.error.condition == UNKNOWN_KEY_IDENTIFIER else AckCode.REJECT
        if isinstance(problem, NotTheirs):
            # An order for another organisation's patient would move that patient's priors to
            # this peer's PACS: refused, and a Security Alert.
            not_theirs(transaction="RAD-4", organisation=peer_organisation(),
                       performer=Peer(user_id=peer_name(header.sending_application,
                                                        header.sending_facility)),
                       detail=problem.error.user_message)
        return _refuse(header, raw, code, problem.error)
    except triggers.UnknownPatient:
        return _refuse(header, raw, AckCode.ERROR, AckError(
            UNKNOWN_KEY_IDENTIFIER, ("PID", "1", "3", "1", "1"), "The patient of PID-3 is not known"))
    except triggers.NoDestination:
        return _refuse(header, raw, AckCode.ERROR, AckError(
            APPLICATION_INTERNAL_ERROR, ("PID", "1", "3", "1", "4"),
            "The ordering organisation has no PACS configured as a move destination"))
    return ack_for(message)


def _ordering_patient(reader: Reader, pid: list[str]) -> tuple[AssigningAuthority, str]:
    """RAD TF-2 4.4.4.1.2.2: PID-3, the MRN at the ordering site; an enterprise ID alone names
    no site, so one of a hospital's authorities must be there."""
    for authority, identifier in own_identifiers(reader, pid, 3, affinity=True):
        if not authority.is_affinity_domain and authority.organisation_id is not None:
            return authority, identifier
    raise Malformed(AckError(UNKNOWN_KEY_IDENTIFIER, ("PID", "1", "3", "1", "4"),
                             "No assigning authority in PID-3 belongs to an affiliated organisation"))


def _order_reference(reader: Reader, orc: list[str], obr: list[str]) -> str:
    """The accession number (OMI: IPC-1; ORM: OBR-18, RAD TF-2 Table B-1), else the filler's
    then the placer's order number (ORC-3, ORC-2): the same in the NW and in its CA."""
    ipc = reader.segment("IPC")
    for text in ((reader.field(ipc, 1) if ipc else ""), reader.field(obr, 18),
                 reader.field(orc, 3), reader.field(orc, 2)):
        value = reader.components(text, 1)[0]
        if value:
            return value
    return ""


def _modality(reader: Reader, obr: list[str]) -> str:
    """OMI^O23: IPC-5 Modality (RAD TF-2 4.4, HL7 v2.5.1). ORM^O01: OBR-24 Diagnostic Service
    Section ID, which RAD TF-2 Table B-1 maps to Modality (0008,0060); OBR-4 is the procedure
    code, not a modality, so it is not read."""
    ipc = reader.segment("IPC")
    for text in ((reader.field(ipc, 5) if ipc else ""), reader.field(obr, 24)):
        value = reader.components(text, 1)[0].strip().upper()
        if value:
            return value
    return ""


def _priority(reader: Reader, orc: list[str], obr: list[str]) -> str:
    """TQ1-9 in HL7 v2.5 (OMI^O23); ORC-7.6, else OBR-27.6 (TQ, priority) in HL7 v2.3.1 (ORM^O01)."""
    tq1 = reader.segment("TQ1")
    if tq1 is not None and reader.field(tq1, 9):
        return reader.components(reader.field(tq1, 9), 1)[0].upper()
    for text in (reader.field(orc, 7), reader.field(obr, 27)):
        value = reader.components(reader.repetitions(text)[0] if text else "", 6)[5]
        if value:
            return value.upper()
    return ""


def _raw(header: Header, *segments: list[str]) -> bytes:
    # The order as the audit's query content: ORC and OBR, no patient segment.
    return "\r".join(header.field_separator.join(s) for s in segments).encode()


def _refuse(header: Header, raw: bytes, code: AckCode, error: AckError) -> str:
    """AE or AR with the ERR segment, and the refusal audited in a transaction of its own."""
    with transaction.atomic():
        audit.record(query(
            transaction="ITI-18", sender=Peer(user_id=peer_name(header.sending_application,
                                                                header.sending_facility)),
            receiver=this_node(triggers.RECEIVER), raw_query=raw, patient_ids=[],
            outcome=4, outcome_description=f"{error.condition.code} {error.condition.text}"))
    return build_ack(header, code, error)
