"""Audit records of DICOM services: instances moved or stored between application entities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from audit.events.common import (
    DESTINATION_ROLE,
    INSTANCES_TRANSFERRED,
    REPORT,
    SOURCE_ROLE,
    STUDY_INSTANCE_UID,
    SYSTEM_OBJECT,
    Peer,
    human_requestors,
    participant,
    patient,
    record,
)
from audit.records import AuditRecord, AuditSource, ParticipantObject


@dataclass(frozen=True)
class StudyRef:
    """A study whose instances moved: its SOP classes with instance counts, its accession numbers."""

    study_instance_uid: str
    sop_classes: tuple[tuple[str, int], ...] = ()  # (SOP Class UID, NumberOfInstances)
    accession_numbers: tuple[str, ...] = ()


def instances_transferred(*, sender: Peer, receiver: Peer, patient_id: str, studies: Sequence[StudyRef],
                          action: str = "R", requestor: Peer | None = None,
                          human_requestor: Peer | None = None, patient_name: str = "",
                          outcome: int = 0, outcome_description: str = "", source: AuditSource | None = None,
                          event_datetime: datetime | None = None) -> AuditRecord:
    """DICOM Instances Transferred 110104 (PS3.15 A.5.3.7), after a C-STORE or C-MOVE completes.

    `sender` and `receiver` are AEs (user id the AE title). `requestor` is a third party that
    asked for the transfer, e.g. this node as the C-MOVE SCU; without one the sender pushed.
    `human_requestor`: the person who asked for it (a radiologist's fetch), a requestor too.
    `action`: C when the receiver did not hold the instances, U when it reconciled its copies,
    R when this node is not the receiver or cannot tell (A.5.3.7).
    """
    if action not in ("C", "R", "U"):
        raise ValueError(f"instances transferred are created, read or updated, not {action!r}")
    if not studies:
        raise ValueError("a transfer names at least one study")
    third_party = (participant(requestor, is_requestor=True),) if requestor else ()
    return record(
        event_id=INSTANCES_TRANSFERRED, action_code=action, outcome=outcome,
        outcome_description=outcome_description,
        participants=(participant(sender, is_requestor=requestor is None, role=SOURCE_ROLE),
                      participant(receiver, is_requestor=False, role=DESTINATION_ROLE),
                      *third_party, *human_requestors(human_requestor)),
        # A.5.3.7: one patient per message.
        objects=(*(_study(study) for study in studies), patient(patient_id, name=patient_name)),
        source=source, event_datetime=event_datetime,
    )


def _study(study: StudyRef) -> ParticipantObject:
    return ParticipantObject(object_id=study.study_instance_uid, type_code=SYSTEM_OBJECT,
                             type_code_role=REPORT, id_type_code=STUDY_INSTANCE_UID,
                             sop_classes=study.sop_classes, accession_numbers=study.accession_numbers)
