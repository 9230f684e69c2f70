"""DICOM C-MOVE and C-FIND SCU of the prefetcher: a study ordered from one PACS to another
(PS3.4 C.4.2), and a study's instances counted at a PACS (PS3.4 C.4.1).

The node only orders the move: the source opens its own association to the destination, which
it looks up by AE title in its configuration. Errors are those of imaging.dicom.retrieve:

    RetrieveError            the PACS could not be asked at all
     ├── PeerUnreachable     no association: refused, rejected, or nobody listening
     └── TlsNotConfigured    the node is reached over TLS and this node has no certificate

Logs name AE titles and UIDs, never a data set's attributes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from pydicom.dataset import Dataset
from pynetdicom import AE, build_context
from pynetdicom.association import Association

from imaging.dicom.retrieve import STUDY_ROOT_MOVE, PeerUnreachable, RetrieveError
from lib.tls import client_context

logger = logging.getLogger(__name__)

# PS3.4 C.6.2: Study Root Query/Retrieve Information Model - FIND.
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
# PS3.4 C.4.1.1.4 / C.4.2.1.5: Pending, and the final statuses the prefetcher tells apart.
PENDING = (0xFF00, 0xFF01)
SUCCESS, WARNING, CANCEL = 0x0000, 0xB000, 0xFE00
DESTINATION_UNKNOWN, UNABLE_TO_PROCESS = 0xA801, 0xC000
NO_RESPONSE = -1  # not a DICOM status: the association died or the DIMSE timeout ran out

__all__ = ["MoveProgress", "MoveResult", "PeerUnreachable", "RetrieveError", "TlsNotConfigured",
           "study_count", "study_instances", "study_move"]


class TlsNotConfigured(RetrieveError):
    """The PACS is reached over TLS, and this node has no TLS certificate configured."""


class PeerLike(Protocol):
    ae_title: str
    host: str
    port: int
    tls: bool


@dataclass(frozen=True)
class MoveProgress:
    """The sub-operation counts of one C-MOVE response (PS3.4 C.4.2.1.4); None when absent."""

    remaining: int | None
    completed: int | None
    failed: int | None
    warning: int | None


@dataclass(frozen=True)
class MoveResult:
    status: int  # the final response's status, NO_RESPONSE when there was none
    progress: MoveProgress  # the final response's counts (PS3.4 C.4.2.1.4.2: optional there)
    failed_uids: tuple[str, ...]  # Failed SOP Instance UID List (0008,0058)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.status in (SUCCESS, WARNING)


def study_move(*, source: PeerLike, calling_ae: str, destination_ae: str, study_uid: str,
               on_progress: Callable[[MoveProgress], None], timeout: float,
               should_cancel: Callable[[], bool] | None = None) -> MoveResult:
    """Order `source` to move a study to `destination_ae` (PS3.4 C.4.2, Study Root, STUDY level).

    `on_progress` gets each pending response's counts. `should_cancel` is asked after each;
    when it says yes a C-CANCEL goes (PS3.4 C.4.2.3.2) and the final response is awaited.
    """
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    assoc = _associate(source, calling_ae, STUDY_ROOT_MOVE, timeout)
    try:
        message_id = 1
        responses = assoc.send_c_move(identifier, destination_ae, STUDY_ROOT_MOVE, msg_id=message_id)
        cancel_sent = False
        for status_ds, answer in responses:
            if "Status" not in status_ds:
                logger.warning("C-MOVE of %s from %s: no response", study_uid, source.ae_title)
                return MoveResult(NO_RESPONSE, MoveProgress(None, None, None, None), ())
            status, progress = int(status_ds.Status), _progress(status_ds)
            if status in PENDING:
                on_progress(progress)
                if should_cancel is not None and not cancel_sent and should_cancel():
                    context = assoc.accepted_contexts[0].context_id
                    assoc.send_c_cancel(message_id, context)
                    cancel_sent = True
                continue
            failed_uids = _failed_list(answer)
            logger.info("C-MOVE of %s from %s to %s: status 0x%04X, %s completed, %s failed",
                        study_uid, source.ae_title, destination_ae, status, progress.completed,
                        progress.failed)
            return MoveResult(status, progress, failed_uids, cancelled=cancel_sent or status == CANCEL)
        return MoveResult(NO_RESPONSE, MoveProgress(None, None, None, None), (), cancelled=cancel_sent)
    finally:
        if assoc.is_established:
            assoc.release()


def study_count(*, node: PeerLike, calling_ae: str, study_uid: str, timeout: float = 30) -> int | None:
    """How many instances of the study `node` holds: Number of Study Related Instances
    (0020,1208) at STUDY level, else the IMAGE level matches counted. 0 when it has none of
    them; None when the PACS answered neither query."""
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    query.NumberOfStudyRelatedInstances = None
    matches = _find(node, calling_ae, query, timeout)
    if matches is None:
        return None
    if not matches:
        return 0
    value = matches[0].get("NumberOfStudyRelatedInstances")
    if value not in (None, ""):
        return int(value)
    instances = study_instances(node=node, calling_ae=calling_ae, study_uid=study_uid, timeout=timeout)
    return None if instances is None else len(instances)


def study_instances(*, node: PeerLike, calling_ae: str, study_uid: str,
                    timeout: float = 30) -> set[str] | None:
    """The SOP Instance UIDs of the study `node` holds (IMAGE level C-FIND); None when the PACS
    did not answer the query."""
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.StudyInstanceUID = study_uid
    query.SeriesInstanceUID = None  # PS3.4 C.4.1.2.2.1: matched universally
    query.SOPInstanceUID = None
    matches = _find(node, calling_ae, query, timeout)
    if matches is None:
        return None
    return {str(m.SOPInstanceUID) for m in matches if m.get("SOPInstanceUID")}


def _find(node: PeerLike, calling_ae: str, query: Dataset, timeout: float) -> list[Dataset] | None:
    assoc = _associate(node, calling_ae, STUDY_ROOT_FIND, timeout)
    try:
        matches: list[Dataset] = []
        for status_ds, answer in assoc.send_c_find(query, STUDY_ROOT_FIND):
            if "Status" not in status_ds:
                return None
            status = int(status_ds.Status)
            if status in PENDING:
                if answer is not None:
                    matches.append(answer)
                continue
            if status != SUCCESS:
                logger.warning("C-FIND at %s: status 0x%04X", node.ae_title, status)
                return None
            return matches
        return None
    finally:
        if assoc.is_established:
            assoc.release()


def _associate(node: PeerLike, calling_ae: str, abstract_syntax: str, timeout: float) -> Association:
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = timeout
    kwargs: dict[str, Any] = {}
    if node.tls:
        kwargs["tls_args"] = (_tls_context(), node.host)
    try:
        assoc = ae.associate(node.host, node.port, contexts=[build_context(abstract_syntax)],
                             ae_title=node.ae_title, **kwargs)
    except (OSError, ValueError) as exc:
        raise PeerUnreachable(f"{node.ae_title} at {node.host}:{node.port}: {exc}") from exc
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise PeerUnreachable(f"{node.ae_title} at {node.host}:{node.port} {why}")
    return assoc


def _tls_context() -> Any:
    # PS3.15 B.1: this node presents its own certificate (the ITI-19 one) and trusts the
    # exchange's CA only.
    if not settings.TLS_ENABLED:
        raise TlsNotConfigured("TLS not configured: the DICOM node asks for TLS, and TLS_CERT_FILE, "
                               "TLS_KEY_FILE and TLS_CA_FILE are not all set")
    return client_context(ca_file=settings.TLS_CA_FILE, cert_file=settings.TLS_CERT_FILE,
                          key_file=settings.TLS_KEY_FILE)


def _progress(status_ds: Dataset) -> MoveProgress:
    def count(keyword: str) -> int | None:
        value = status_ds.get(keyword)
        return None if value in (None, "") else int(value)

    return MoveProgress(remaining=count("NumberOfRemainingSuboperations"),
                        completed=count("NumberOfCompletedSuboperations"),
                        failed=count("NumberOfFailedSuboperations"),
                        warning=count("NumberOfWarningSuboperations"))


def _failed_list(identifier: Dataset | None) -> tuple[str, ...]:
    # PS3.4 C.4.2.1.4.2: Failed SOP Instance UID List (0008,0058) of the final response.
    if identifier is None or "FailedSOPInstanceUIDList" not in identifier:
        return ()
    value = identifier.FailedSOPInstanceUIDList
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
