"""DIMSE application handlers: C-ECHO and C-STORE requests mapped onto DICOM statuses.

They are bound by `config.routes.DICOM_ROUTES`. Logs name the peer and the UIDs, never a
dataset or a patient attribute.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

from django.conf import settings
from django.db import connections
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event

from audit.edges import dicom_association
from imaging.dicom import storage
from imaging.dicom.transport import organisation_of

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
    return status


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
