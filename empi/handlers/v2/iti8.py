"""ITI-8 Patient Identity Feed over HL7 v2 (ITI TF-2a 3.8): ADT A01, A04, A05, A08 and A40 in, ACK out."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import services as audit
from audit.edges import not_theirs
from audit.events import Peer, patient_record, this_node
from empi import services
from empi.errors import EmpiError, UnknownRecord
from empi.handlers.v2.wire import (
    RAW_PID_FIELDS,
    UNKNOWN_KEY_IDENTIFIER,
    Malformed,
    NotTheirs,
    Reader,
    own_identifiers,
    peer_name,
    pid_demographics,
)
from mllp.ack import ack_for, build_ack
from mllp.codes import APPLICATION_INTERNAL_ERROR, AckCode, AckError
from mllp.message import Header, read_header
from mllp.peer import peer_organisation

TRANSACTION = "ITI-8"


def patient_identity_feed(message: Any) -> str:
    """ADT^A01/A04/A05 (create or update) and A08 (update): the record is matched on arrival."""
    header = read_header(message)
    reader = Reader(message, header)
    try:
        pid = reader.required_segment("PID")
        identifiers = own_identifiers(reader, pid, 3)
        demographics = pid_demographics(reader, pid)
        services.patient_feed(
            identifiers=identifiers, demographics=demographics,
            raw=reader.raw(pid, RAW_PID_FIELDS), source=_source(header),
            message_id=header.control_id, transaction_name=TRANSACTION)
    except Malformed as problem:
        return _refuse(header, problem.error, action="U" if header.trigger_event == "A08" else "C",
                       alert=isinstance(problem, NotTheirs))
    except EmpiError as problem:
        return _refuse(header, _error_of(problem), action="C")
    return ack_for(message)


def patient_merge(message: Any) -> str:
    """ADT^A40 (ITI TF-2a 3.8.4.2): the patient of MRG-1 is merged into the patient of PID-3."""
    header = read_header(message)
    reader = Reader(message, header)
    try:
        pid = reader.required_segment("PID")
        surviving = own_identifiers(reader, pid, 3)[0]
        demographics = pid_demographics(reader, pid)
        mrg = reader.required_segment("MRG")
        subsumed = own_identifiers(reader, mrg, 1)[0]
        services.person_merge(
            surviving_authority=surviving[0], surviving_identifier=surviving[1],
            subsumed_authority=subsumed[0], subsumed_identifier=subsumed[1],
            demographics=demographics, raw=reader.raw(pid, RAW_PID_FIELDS),
            source=_source(header), message_id=header.control_id, transaction_name=TRANSACTION)
    except Malformed as problem:
        return _refuse(header, problem.error, action="U", alert=isinstance(problem, NotTheirs))
    except UnknownRecord:
        return _refuse(header, AckError(UNKNOWN_KEY_IDENTIFIER, ("MRG", "1", "1"),
                                        "The patient of MRG-1 is not known"), action="U")
    except EmpiError as problem:
        return _refuse(header, _error_of(problem), action="U")
    return ack_for(message)


def _refuse(header: Header, error: AckError, *, action: str, alert: bool = False) -> str:
    """AE with the ERR segment, and the refusal audited in a transaction of its own."""
    with transaction.atomic():
        audit.record(patient_record(
            transaction=TRANSACTION, action=action, sender=Peer(user_id=_source(header)),
            receiver=this_node(services.RECEIVER), patient_ids=[], message_id=header.control_id,
            outcome=4, outcome_description=f"{error.condition.code} {error.condition.text}"))
    if alert:
        not_theirs(transaction=TRANSACTION, performer=Peer(user_id=_source(header)),
                   organisation=peer_organisation(), detail=error.user_message)
    return build_ack(header, AckCode.ERROR, error)


def _error_of(problem: EmpiError) -> AckError:
    # Only configuration problems are left here: the message itself was fine.
    return AckError(APPLICATION_INTERNAL_ERROR, user_message="The EMPI is not configured for this feed")


def _source(header: Header) -> str:
    return peer_name(header.sending_application, header.sending_facility)
