"""DICOM retrieve SCU: a study's instances fetched from a PACS into a folder with C-GET
(PS3.4 C.4.3) or C-MOVE (PS3.4 C.4.2), each file holding the data set exactly as the PACS sent it.

    RetrieveError            the PACS could not be asked at all
     ├── PeerUnreachable     no association: refused, rejected, or nobody listening
     └── MethodUnsupported   C-MOVE without a move destination the PACS knows

An instance the PACS did not send is no exception: it lands in `FetchResult.failed` with why.
Logs name AE titles and UIDs, never a data set's attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import uid as ts
from pydicom.dataset import Dataset
from pynetdicom import AE, build_context, build_role, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext

from imaging.dicom import storage

logger = logging.getLogger(__name__)

C_GET, C_MOVE = "C-GET", "C-MOVE"
# PS3.4 C.6.2: Study Root Query/Retrieve Information Model - GET and - MOVE.
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
# Every syntax in its own presentation context, so the PACS can send each instance in the syntax
# it holds it in, unchanged: an acceptor accepts one syntax per context (PS3.8 9.3.3.2), so a
# context listing them all would leave one syntax per SOP class and make the PACS transcode.
TRANSFER_SYNTAXES = (
    ts.ExplicitVRLittleEndian, ts.ImplicitVRLittleEndian, ts.DeflatedExplicitVRLittleEndian,
    ts.ExplicitVRBigEndian, ts.JPEGBaseline8Bit, ts.JPEGExtended12Bit, ts.JPEGLosslessSV1,
    ts.JPEGLSLossless, ts.JPEGLSNearLossless, ts.JPEG2000Lossless, ts.JPEG2000, ts.RLELossless,
)
# PS3.8 9.3.2.2: presentation context IDs are odd numbers 1-255, so at most 128 of them; one
# goes to the retrieve SOP class itself.
MAX_STORAGE_CONTEXTS = 127
# PS3.4 C.4.2.1.5 / C.4.3.1.5: Success, and Warning (sub-operations complete, some failed).
_SUCCESS, _WARNING = 0x0000, 0xB000
_PENDING = (0xFF00, 0xFF01)
_ALL = "*"  # while reading responses: why every instance not received failed


class RetrieveError(Exception):
    """The PACS could not be asked."""


class PeerUnreachable(RetrieveError):
    """No association with the PACS."""


class MethodUnsupported(RetrieveError):
    """The PACS's retrieve method cannot be used from here."""


@dataclass(frozen=True)
class Peer:
    ae_title: str
    host: str
    port: int
    method: str = C_GET  # C-GET or C-MOVE


@dataclass
class FetchResult:
    files: dict[str, Path] = field(default_factory=dict)  # SOP Instance UID -> Part 10 file
    failed: dict[str, str] = field(default_factory=dict)  # SOP Instance UID -> why


def instances_fetch(*, peer: Peer, calling_ae: str, study_uid: str, series_uid: str | None,
                    sop_instance_uids: Sequence[str], folder: Path, timeout: float,
                    sop_class_uids: Sequence[str] = (), whole_series: bool = False,
                    move_address: tuple[str, int] | None = None) -> FetchResult:
    """Fetch instances of one study (one series when `series_uid`) into `folder/<uid>.dcm`.

    With `whole_series` the PACS is asked for the series (SERIES level, one key instead of a
    long list) and `sop_instance_uids` only say which instances to keep; none keeps all it
    sends. `sop_class_uids` are the SOP classes asked for, known from the manifest index: the
    storage contexts proposed. `move_address` is where a C-MOVE's storage SCP listens: the
    PACS must know it as the move destination `calling_ae`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = list(dict.fromkeys(sop_instance_uids))
    result = FetchResult()
    received = _Received(folder=folder, wanted=set(wanted))
    identifier = _identifier(study_uid=study_uid, series_uid=series_uid,
                             sop_instance_uids=[] if whole_series else wanted)
    if peer.method == C_GET:
        _get(peer=peer, calling_ae=calling_ae, identifier=identifier, received=received,
             sop_class_uids=sop_class_uids, timeout=timeout, result=result)
    elif peer.method == C_MOVE:
        _move(peer=peer, calling_ae=calling_ae, identifier=identifier, received=received,
              sop_class_uids=sop_class_uids, timeout=timeout, result=result,
              move_address=move_address)
    else:
        raise MethodUnsupported(f"retrieve method {peer.method!r} is neither C-GET nor C-MOVE")
    general = result.failed.pop(_ALL, "the PACS did not send the instance")
    result.files.update(received.files)
    for uid in wanted:
        if uid in result.files:
            result.failed.pop(uid, None)
        else:
            result.failed.setdefault(uid, general)
    return result


def _identifier(*, study_uid: str, series_uid: str | None, sop_instance_uids: list[str]) -> Dataset:
    # PS3.4 C.4.3.1.3.1 (and C.4.2.1.4.1): unique keys down to the retrieve level; at IMAGE level
    # the SOP Instance UIDs go as a list (C.2.2.2.2, List of UID Matching).
    ds = Dataset()
    ds.StudyInstanceUID = study_uid
    ds.QueryRetrieveLevel = "STUDY"
    if series_uid:
        ds.QueryRetrieveLevel = "SERIES"
        ds.SeriesInstanceUID = series_uid
    if sop_instance_uids:
        if not series_uid:
            raise ValueError("an IMAGE level retrieve names the series of its instances")
        ds.QueryRetrieveLevel = "IMAGE"
        ds.SOPInstanceUID = sop_instance_uids if len(sop_instance_uids) > 1 else sop_instance_uids[0]
    return ds


class _Received:
    """The C-STORE handler of the sub-operations: each instance written as it arrived."""

    def __init__(self, *, folder: Path, wanted: set[str]) -> None:
        self.folder, self.wanted = folder, wanted
        self.files: dict[str, Path] = {}
        self._lock = threading.Lock()

    def c_store(self, event: Any) -> int:
        uid = str(event.request.AffectedSOPInstanceUID or "")
        if not storage.is_valid_uid(uid):
            return 0xC000  # PS3.4 B.2.3: Error, cannot understand; never reaches a path
        if self.wanted and uid not in self.wanted:
            logger.info("C-STORE of %s, which was not asked for: discarded", uid)
            return _SUCCESS
        try:
            received = getattr(event, "dataset_path", None)
            if received is not None:
                path = storage.instance_move_file(directory=self.folder, sop_instance_uid=uid,
                                                  source=received)
            else:
                # The data set's bytes as received, after the PS3.10 7.1 file meta pynetdicom
                # writes from the context's transfer syntax: nothing is decoded.
                path = storage.instance_write_bytes(directory=self.folder, sop_instance_uid=uid,
                                                    data=event.encoded_dataset(include_meta=True))
        except OSError:
            logger.exception("writing retrieved instance %s failed", uid)
            return 0xA700  # Refused: out of resources
        with self._lock:
            self.files[uid] = path
        return _SUCCESS


def storage_contexts(sop_class_uids: Sequence[str]) -> list[PresentationContext]:
    """Storage contexts for the SOP classes: one per (class, syntax) while they fit in the
    association, else one per class with every syntax (the PACS then picks one per class)."""
    classes = list(dict.fromkeys(sop_class_uids))[:MAX_STORAGE_CONTEXTS]
    if len(classes) * len(TRANSFER_SYNTAXES) <= MAX_STORAGE_CONTEXTS:
        return [build_context(uid, [syntax]) for uid in classes for syntax in TRANSFER_SYNTAXES]
    return [build_context(uid, list(TRANSFER_SYNTAXES)) for uid in classes]


def _classes(contexts: list[PresentationContext]) -> list[str]:
    return [str(c.abstract_syntax) for c in contexts if c.abstract_syntax]


def _associate(*, ae: AE, peer: Peer, contexts: list[PresentationContext], ext_neg: list[Any],
               handlers: list[Any]) -> Association:
    try:
        assoc = ae.associate(peer.host, peer.port, contexts=contexts, ae_title=peer.ae_title,
                             ext_neg=ext_neg, evt_handlers=handlers)
    except (OSError, ValueError) as exc:
        raise PeerUnreachable(f"{peer.ae_title} at {peer.host}:{peer.port}: {exc}") from exc
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise PeerUnreachable(f"{peer.ae_title} at {peer.host}:{peer.port} {why}")
    return assoc


def _new_ae(calling_ae: str, timeout: float) -> AE:
    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = timeout
    return ae


def _get(*, peer: Peer, calling_ae: str, identifier: Dataset, received: _Received,
         sop_class_uids: Sequence[str], timeout: float, result: FetchResult) -> None:
    # PS3.4 C.4.3: the PACS sends each instance back over this association, as C-STOREs to us
    # acting as Storage SCP: SCP role negotiated per storage class (PS3.7 D.3.3.4).
    ae = _new_ae(calling_ae, timeout)
    contexts = [build_context(STUDY_ROOT_GET), *storage_contexts(sop_class_uids)]
    roles = [build_role(uid, scp_role=True) for uid in dict.fromkeys(_classes(contexts[1:]))]
    assoc = _associate(ae=ae, peer=peer, contexts=contexts, ext_neg=roles,
                       handlers=[(evt.EVT_C_STORE, received.c_store)])
    try:
        _ask(lambda ds: assoc.send_c_get(ds, STUDY_ROOT_GET), identifier, peer=peer,
             operation=C_GET, received=received, result=result)
    finally:
        assoc.release()


def _move(*, peer: Peer, calling_ae: str, identifier: Dataset, received: _Received,
          sop_class_uids: Sequence[str], timeout: float, result: FetchResult,
          move_address: tuple[str, int] | None) -> None:
    # PS3.4 C.4.2: the PACS opens its own association to the move destination, which it looks up
    # by AE title in its configuration: a storage SCP must listen where the PACS expects it.
    if move_address is None:
        raise MethodUnsupported(f"{peer.ae_title} retrieves by C-MOVE, which needs a storage SCP "
                                "at an address the PACS knows as the move destination")
    scp = _new_ae(calling_ae, timeout)
    for uid in _classes(storage_contexts(sop_class_uids)):
        scp.add_supported_context(uid, list(TRANSFER_SYNTAXES))
    try:
        server = scp.start_server(move_address, block=False, ae_title=calling_ae,
                                  evt_handlers=[(evt.EVT_C_STORE, received.c_store)])
    except OSError as exc:
        raise MethodUnsupported(f"no storage SCP could listen at {move_address}: {exc}") from exc
    assert server is not None
    try:
        scu = _new_ae(calling_ae, timeout)
        assoc = _associate(ae=scu, peer=peer,
                           contexts=[build_context(STUDY_ROOT_MOVE)],
                           ext_neg=[], handlers=[])
        try:
            _ask(lambda ds: assoc.send_c_move(ds, calling_ae, STUDY_ROOT_MOVE), identifier,
                 peer=peer, operation=C_MOVE, received=received, result=result)
        finally:
            assoc.release()
    finally:
        server.shutdown()


def _ask(send: Callable[[Dataset], Iterator[tuple[Dataset, Dataset | None]]], identifier: Dataset, *,
         peer: Peer, operation: str, received: _Received, result: FetchResult) -> None:
    """One retrieve request; when it failed as a whole for a list of instances, one request per
    instance still missing, so that only the ones the PACS cannot give fail."""
    failure = _responses(send(identifier), peer=peer, operation=operation, result=result)
    listed = _listed(identifier)
    missing = [uid for uid in listed if uid not in received.files and uid not in result.failed]
    if failure is None or len(listed) < 2 or not missing:
        if failure is not None:
            result.failed[_ALL] = failure
        return
    # Some PACSs (Orthanc among them) fail a whole list for one UID they do not hold.
    for uid in missing:
        single = Dataset()
        single.update(identifier)
        single.SOPInstanceUID = uid
        failure = _responses(send(single), peer=peer, operation=operation, result=result)
        if failure is not None and uid not in received.files:
            result.failed[uid] = failure


def _listed(identifier: Dataset) -> list[str]:
    if identifier.get("QueryRetrieveLevel") != "IMAGE":
        return []
    value = identifier.SOPInstanceUID
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _responses(responses: Iterator[tuple[Dataset, Dataset | None]], *, peer: Peer, operation: str,
               result: FetchResult) -> str | None:
    """Read the responses to the final one; note the instances it lists as failed. Why the
    request failed as a whole, or None when it completed (Success or Warning)."""
    for status_ds, identifier in responses:
        if "Status" not in status_ds:  # no answer within the DIMSE timeout, or the association died
            return f"{operation}: no response from the PACS"
        status = int(status_ds.Status)
        if status in _PENDING:
            continue
        failed_uids = _failed_list(identifier)
        logger.info("%s from %s: status 0x%04X, %d failed", operation, peer.ae_title, status,
                    len(failed_uids))
        for uid in failed_uids:
            result.failed[uid] = f"{operation} sub-operation failed (status 0x{status:04X})"
        if status not in (_SUCCESS, _WARNING):
            return f"{operation} failed with status 0x{status:04X}"
        return None
    return f"{operation}: no final response from the PACS"


def _failed_list(identifier: Dataset | None) -> list[str]:
    # PS3.4 C.4.3.1.3.2: Failed SOP Instance UID List (0008,0058) of the final response.
    if identifier is None or "FailedSOPInstanceUIDList" not in identifier:
        return []
    value = identifier.FailedSOPInstanceUIDList
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]
