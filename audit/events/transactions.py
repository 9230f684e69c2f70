"""Audit records of IHE transactions: queries, document exports and imports, patient records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from audit.events.common import (
    DESTINATION_ROLE,
    EXPORT,
    IMPORT,
    JOB,
    PATIENT_RECORD,
    QUERY,
    QUERY_ROLE,
    REPORT,
    REPORT_NUMBER,
    SOURCE_ROLE,
    SUBMISSION_SET,
    SYSTEM_OBJECT,
    Peer,
    human_requestors,
    participant,
    patient,
    record,
    transaction_code,
)
from audit.records import AuditRecord, AuditSource, Code, ParticipantObject

QUERY_TRANSACTIONS = ("ITI-9", "ITI-18", "ITI-21", "ITI-45", "ITI-47", "ITI-66", "ITI-67", "ITI-78",
                      "ITI-81", "ITI-83")
# The same transactions are an Import on the side that receives the documents and an Export on
# the side that sends them (ITI TF-2b: 3.41.5.1, 3.42.5.1, 3.43.6.1, 3.57.5.1; RAD TF-3: RAD-68,
# RAD-69).
DOCUMENT_TRANSACTIONS = ("ITI-41", "ITI-42", "ITI-43", "ITI-57", "ITI-65", "ITI-68", "RAD-68", "RAD-69")
# The feeds, and ITI-62 and ITI-86 whose deletions change a patient's record (ITI TF-2b: 3.62.5.1,
# 3.86.5.1).
PATIENT_RECORD_TRANSACTIONS = ("ITI-8", "ITI-10", "ITI-44", "ITI-46", "ITI-62", "ITI-86", "ITI-104")
# ITI TF-2b: 3.57.5.1: an update is imported with EventActionCode U; the others create (C).
_IMPORT_ACTIONS = {"ITI-57": "U"}

# Retrievals: the receiver of the documents asked for them. In the others the sender pushes.
_PULLED = ("ITI-43", "ITI-68", "RAD-69")
# The detail naming the message: MSH-10 for HL7 v2 (ITI TF-2a: 3.8.5.1, 3.9.5.1, 3.21.5.1),
# the message id for the HL7 v3 feeds (ITI TF-2b: 3.44.5.1).
_MESSAGE_ID_DETAIL = {"ITI-8": "MSH-10", "ITI-9": "MSH-10", "ITI-10": "MSH-10", "ITI-21": "MSH-10",
                      "ITI-44": "II", "ITI-46": "II"}
# ITI TF-2a: 3.18.5.1 names the home community the XCA way; the others keep the older name.
_XCA_HOME_COMMUNITY = "urn:ihe:iti:xca:2010:homeCommunityId"
_HOME_COMMUNITY = "ihe:homeCommunityID"


@dataclass(frozen=True)
class DocumentRef:
    """A document that changed hands; the UIDs of study and series for an XDS-I.b retrieve."""

    unique_id: str  # XDSDocumentEntry.uniqueId; for RAD-69 the SOP Instance UID
    repository_unique_id: str = ""
    home_community_id: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""


def query(*, transaction: str, sender: Peer, receiver: Peer, raw_query: bytes, query_id: str = "",
          patient_ids: Sequence[str] = (), message_id: str = "", query_encoding: str = "UTF-8",
          home_community_id: str = "", human_requestor: Peer | None = None, outcome: int = 0,
          outcome_description: str = "", purpose_of_use: Sequence[Code] = (),
          source: AuditSource | None = None, event_datetime: datetime | None = None) -> AuditRecord:
    """Query 110112 (PS3.15 A.5.3.10) as ITI TF-2 x.5.1 of each query transaction specialises it.

    `raw_query` is the query as received: the HL7 v2 message, the SOAP query element, the FHIR
    request URL. `patient_ids` are the patients asked about or returned, in HL7 CX form.
    """
    details: list[tuple[str, bytes]] = []
    if transaction == "ITI-18":
        # ITI TF-2a: 3.18.5.1: the character encoding of the query before base64.
        details.append(("QueryEncoding", query_encoding.encode()))
    if message_id and transaction in _MESSAGE_ID_DETAIL:
        details.append((_MESSAGE_ID_DETAIL[transaction], message_id.encode()))
    if home_community_id:
        kind = _XCA_HOME_COMMUNITY if transaction == "ITI-18" else _HOME_COMMUNITY
        details.append((kind, home_community_id.encode()))
    code = transaction_code(transaction, QUERY_TRANSACTIONS)
    query_object = ParticipantObject(object_id=query_id, type_code=SYSTEM_OBJECT, type_code_role=QUERY_ROLE,
                                     id_type_code=code, query=raw_query, details=tuple(details))
    return record(
        event_id=QUERY, action_code="E", outcome=outcome, outcome_description=outcome_description,
        event_type_codes=(code,),
        participants=(participant(sender, is_requestor=True, role=SOURCE_ROLE),
                      *human_requestors(human_requestor),
                      participant(receiver, is_requestor=False, role=DESTINATION_ROLE)),
        objects=(*(patient(pid) for pid in patient_ids), query_object),
        purpose_of_use=purpose_of_use, source=source, event_datetime=event_datetime,
    )


def import_(*, transaction: str, sender: Peer, receiver: Peer, patient_id: str = "",
            submission_set_unique_id: str = "", documents: Sequence[DocumentRef] = (),
            human_requestor: Peer | None = None, outcome: int = 0, outcome_description: str = "",
            purpose_of_use: Sequence[Code] = (), source: AuditSource | None = None,
            event_datetime: datetime | None = None) -> AuditRecord:
    """Import 110107 (PS3.15 A.5.3.5): documents came in (ITI-41, ITI-42, RAD-68: action C) or
    their metadata changed (ITI-57: action U)."""
    return _transfer(IMPORT, _IMPORT_ACTIONS.get(transaction, "C"), transaction=transaction,
                     sender=sender, receiver=receiver, patient_id=patient_id,
                     submission_set_unique_id=submission_set_unique_id, documents=documents,
                     human_requestor=human_requestor, outcome=outcome,
                     outcome_description=outcome_description, purpose_of_use=purpose_of_use,
                     source=source, event_datetime=event_datetime)


def export(*, transaction: str, sender: Peer, receiver: Peer, patient_id: str = "",
           submission_set_unique_id: str = "", documents: Sequence[DocumentRef] = (),
           human_requestor: Peer | None = None, outcome: int = 0, outcome_description: str = "",
           purpose_of_use: Sequence[Code] = (), source: AuditSource | None = None,
           event_datetime: datetime | None = None) -> AuditRecord:
    """Export 110106, action R (PS3.15 A.5.3.4): documents went out (ITI-43, RAD-69 answered)."""
    return _transfer(EXPORT, "R", transaction=transaction, sender=sender, receiver=receiver,
                     patient_id=patient_id, submission_set_unique_id=submission_set_unique_id,
                     documents=documents, human_requestor=human_requestor, outcome=outcome,
                     outcome_description=outcome_description, purpose_of_use=purpose_of_use,
                     source=source, event_datetime=event_datetime)


def patient_record(*, transaction: str, action: str, sender: Peer, receiver: Peer,
                   patient_ids: Sequence[str], message_id: str = "", removed: Sequence[str] = (),
                   human_requestor: Peer | None = None,
                   outcome: int = 0, outcome_description: str = "", purpose_of_use: Sequence[Code] = (),
                   source: AuditSource | None = None, event_datetime: datetime | None = None) -> AuditRecord:
    """Patient Record 110110 (PS3.15 A.5.3.14) of the feeds: ITI TF-2a: 3.8.5.1; ITI TF-2b: 3.44.5.1.

    `action`: C for A01/A04/A05, U for A08/A40, D for an identifier a merge removed or registry
    objects ITI-62 removed (their entryUUIDs in `removed`), R for an update notification this
    node sends. A refusal may name no patient: its request was not understood that far.
    """
    if action not in ("C", "R", "U", "D"):
        raise ValueError(f"a patient record is created, read, updated or deleted, not {action!r}")
    if not patient_ids and outcome == 0:
        raise ValueError("a patient record names at least one patient")
    code = transaction_code(transaction, PATIENT_RECORD_TRANSACTIONS)
    detail = _MESSAGE_ID_DETAIL.get(transaction)
    details = ((detail, message_id.encode()),) if detail and message_id else ()
    return record(
        event_id=PATIENT_RECORD, action_code=action, outcome=outcome,
        outcome_description=outcome_description, event_type_codes=(code,),
        participants=(participant(sender, is_requestor=True, role=SOURCE_ROLE),
                      *human_requestors(human_requestor),
                      participant(receiver, is_requestor=False, role=DESTINATION_ROLE)),
        objects=(*(patient(pid, details=details) for pid in patient_ids),
                 *(_registry_object(uuid) for uuid in removed)),
        purpose_of_use=purpose_of_use, source=source, event_datetime=event_datetime,
    )


def _transfer(event_id: Code, action: str, *, transaction: str, sender: Peer, receiver: Peer,
              patient_id: str, submission_set_unique_id: str, documents: Sequence[DocumentRef],
              human_requestor: Peer | None, outcome: int, outcome_description: str,
              purpose_of_use: Sequence[Code], source: AuditSource | None,
              event_datetime: datetime | None) -> AuditRecord:
    code = transaction_code(transaction, DOCUMENT_TRANSACTIONS)
    pulled = transaction in _PULLED
    objects: list[ParticipantObject] = []
    if patient_id:  # unknown when a submission was refused before its metadata was read
        objects.append(patient(patient_id))
    if submission_set_unique_id:
        objects.append(ParticipantObject(object_id=submission_set_unique_id, type_code=SYSTEM_OBJECT,
                                         type_code_role=JOB, id_type_code=SUBMISSION_SET))
    objects.extend(_document(document) for document in documents)
    return record(
        event_id=event_id, action_code=action, outcome=outcome, outcome_description=outcome_description,
        event_type_codes=(code,),
        participants=(participant(sender, is_requestor=not pulled, role=SOURCE_ROLE),
                      *human_requestors(human_requestor),
                      participant(receiver, is_requestor=pulled, role=DESTINATION_ROLE)),
        objects=tuple(objects), purpose_of_use=purpose_of_use, source=source,
        event_datetime=event_datetime,
    )


def _registry_object(entry_uuid: str) -> ParticipantObject:
    # ITI TF-2b: 3.62.5.1: each removed object by its entryUUID, a system object.
    return ParticipantObject(object_id=entry_uuid, type_code=SYSTEM_OBJECT, type_code_role=REPORT,
                             id_type_code=REPORT_NUMBER)


def _document(document: DocumentRef) -> ParticipantObject:
    # ITI TF-2b: 3.43.6.1 for a document, with the study and series of an imaging one (RAD-69).
    pairs = (("Study Instance Unique Id", document.study_instance_uid),
             ("Series Instance Unique Id", document.series_instance_uid),
             ("Repository Unique Id", document.repository_unique_id),
             (_HOME_COMMUNITY, document.home_community_id))
    return ParticipantObject(object_id=document.unique_id, type_code=SYSTEM_OBJECT, type_code_role=REPORT,
                             id_type_code=REPORT_NUMBER,
                             details=tuple((kind, value.encode()) for kind, value in pairs if value))
