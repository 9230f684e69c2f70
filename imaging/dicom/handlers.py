"""DIMSE application handlers: C-ECHO and C-STORE requests mapped onto DICOM statuses.

They are bound by `config.routes.DICOM_ROUTES`. Logs name the peer and the UIDs, never a
dataset or a patient attribute.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections import OrderedDict
from io import BytesIO
from pathlib import Path
from typing import cast

from django.conf import settings
from django.db import connections
from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event

from audit.edges import dicom_association
from imaging.dicom import storage
from imaging.dicom.transport import organisation_of
from imaging.dicom.wellformed import Malformed, check_data_set
from imaging.prefetch.triggers import study_arrived

logger = logging.getLogger(__name__)

# PS3.7 9.1.5.1.4 (C-ECHO) and PS3.4 B.2.3 Table B.2-1 (C-STORE) statuses.
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # Refused: Out of Resources
CANNOT_UNDERSTAND = 0xC000  # Error: Cannot understand


def _peer(event: Event) -> str:
    requestor = event.assoc.requestor
    return f"{requestor.ae_title} at {requestor.address}:{requestor.port}"


def c_echo(event: Event) -> int:
    """PS3.7 9.1.5: Verification always succeeds once the association is accepted."""
    logger.info("C-ECHO from %s: status 0x%04X", _peer(event), SUCCESS)
    requestor = event.assoc.requestor
    try:
        dicom_association(calling_ae=str(requestor.ae_title).strip(), peer_host=str(requestor.address),
                          organisation=organisation_of(event.assoc))
    finally:
        # Each association runs in a thread of its own: its database connection goes with it.
        connections.close_all()
    return SUCCESS


def c_store(event: Event) -> int:
    """PS3.4 B.2: keep the instance as sent, in `DICOM_STORAGE_DIR/<SOP Instance UID>.dcm`."""
    request = cast(C_STORE, event.request)
    sop_class_uid = request.AffectedSOPClassUID
    sop_instance_uid = request.AffectedSOPInstanceUID
    status = _store(event, sop_instance_uid=sop_instance_uid)
    logger.info(
        "C-STORE from %s: SOP Class %s, SOP Instance %r: status 0x%04X",
        _peer(event), sop_class_uid, str(sop_instance_uid)[:64], status,
    )
    if status == SUCCESS and not getattr(request, "MoveOriginatorApplicationEntityTitle", None):
        _study_arrived(event, sop_instance_uid=str(sop_instance_uid))
    return status


# Studies whose arrival was told to the prefetcher lately, by (calling AE, Study Instance UID):
# a study comes as many C-STOREs, and only its first instance enqueues the task.
_RECENT_STUDIES: OrderedDict[tuple[str, str], None] = OrderedDict()
_RECENT_LIMIT = 4096
_RECENT_LOCK = threading.Lock()


def _study_arrived(event: Event, *, sop_instance_uid: str) -> None:
    """A site's PACS sending a new study (or one instance of it) to the node is the "study
    arrived" notification of the prefetcher: the task finds and fetches the patient's priors.
    Instances a C-MOVE sends here (PS3.7 9.3.1.1: Move Originator AE Title) are not; nor is
    anything the node cannot read the patient and study of."""
    calling_ae = str(event.assoc.requestor.ae_title).strip()
    path = storage.instance_path(directory=Path(settings.DICOM_STORAGE_DIR),
                                 sop_instance_uid=sop_instance_uid)
    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=[
            "PatientID", "IssuerOfPatientID", "StudyInstanceUID", "Modality", "AccessionNumber"])
    except (OSError, InvalidDicomError, ValueError):
        logger.warning("C-STORE from %s: SOP Instance %s unreadable for the prefetcher",
                       calling_ae, sop_instance_uid)
        return
    study_uid, patient_id = str(ds.get("StudyInstanceUID", "")), str(ds.get("PatientID", ""))
    if not study_uid or not patient_id:
        return
    with _RECENT_LOCK:
        if (calling_ae, study_uid) in _RECENT_STUDIES:
            return
        _RECENT_STUDIES[(calling_ae, study_uid)] = None
        while len(_RECENT_STUDIES) > _RECENT_LIMIT:
            _RECENT_STUDIES.popitem(last=False)
    try:
        study_arrived.delay(calling_ae, patient_id, str(ds.get("IssuerOfPatientID", "") or ""),
                            study_uid, str(ds.get("Modality", "") or ""),
                            str(ds.get("AccessionNumber", "") or ""))
    except Exception as exc:  # the broker down must not fail a C-STORE that was kept
        logger.warning("Study %s from %s: prefetch not enqueued (%s)", study_uid, calling_ae,
                       type(exc).__name__)
        with _RECENT_LOCK:
            _RECENT_STUDIES.pop((calling_ae, study_uid), None)


def _store(event: Event, *, sop_instance_uid: object) -> int:
    directory = Path(settings.DICOM_STORAGE_DIR)
    if not isinstance(sop_instance_uid, str) or not storage.is_valid_uid(sop_instance_uid):
        # The UID names the file; one outside the PS3.5 9.1 grammar "cannot be understood"
        # (PS3.4 B.2.3), and never reaches a path.
        return CANNOT_UNDERSTAND
    try:
        # With STORE_RECV_CHUNKED_DATASET pynetdicom has already written the Part 10 file
        # (preamble, PS3.10 7.1 file meta, data set as received); otherwise it is in memory.
        received = event.dataset_path
        if not _well_formed(event, received):
            # PS3.4 B.2.3: a data set cut short or ending in garbage "cannot be understood";
            # pynetdicom removes its own file of it once the handler returns.
            return CANNOT_UNDERSTAND
        if received is not None:
            storage.instance_move_file(
                directory=directory, sop_instance_uid=sop_instance_uid, source=received
            )
        else:
            storage.instance_write_bytes(
                directory=directory, sop_instance_uid=sop_instance_uid,
                data=event.encoded_dataset(include_meta=True),
            )
    except OSError:
        logger.exception("C-STORE could not write SOP Instance %s", sop_instance_uid)
        return OUT_OF_RESOURCES
    return SUCCESS


def _well_formed(event: Event, received: Path | None) -> bool:
    transfer_syntax = str(event.context.transfer_syntax)
    try:
        if received is None:
            data_set = cast(BytesIO, cast(C_STORE, event.request).DataSet)
            data_set.seek(0)
            check_data_set(data_set, end=len(data_set.getbuffer()), transfer_syntax=transfer_syntax)
            return True
        with received.open("rb") as fp:
            # PS3.10 7.1: preamble, "DICM", then (0002,0000) the file meta's group length.
            fp.seek(140)
            meta_length = struct.unpack("<L", fp.read(4))[0]
            fp.seek(144 + meta_length)
            check_data_set(fp, end=received.stat().st_size, transfer_syntax=transfer_syntax)
    except (Malformed, struct.error) as exc:
        logger.warning("C-STORE from %s: data set not well formed (%s)", _peer(event), exc)
        return False
    return True
