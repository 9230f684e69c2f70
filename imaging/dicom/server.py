"""The node's DICOM application entity: contexts, limits and handlers from `config.routes`."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.utils.module_loading import import_string
from pynetdicom import (
    AE,
    ALL_TRANSFER_SYNTAXES,
    AllStoragePresentationContexts,
    _config,
    evt,
)
from pynetdicom.events import EventHandlerType
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from config.routes import DICOM_ROUTES
from imaging.dicom import storage
from imaging.dicom.transport import BoundedRequestHandler, TlsAssociationServer
from lib.tls import TlsGate

logger = logging.getLogger(__name__)


def event_handlers() -> list[EventHandlerType]:
    """The pynetdicom handlers bound by `config.routes.DICOM_ROUTES`."""
    return [(getattr(evt, route.event), import_string(route.handler)) for route in DICOM_ROUTES]


def application_entity() -> AE:
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    # The storage SCP keeps instances as they were sent, never decoding them, so every
    # transfer syntax pynetdicom knows (compressed ones included) is accepted (PS3.5 10).
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(cast(str, context.abstract_syntax), ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification, ALL_TRANSFER_SYNTAXES)
    # PS3.8 D.1: the Maximum Length we announce for the P-DATA-TF PDUs a peer sends us.
    ae.maximum_pdu_size = settings.DICOM_MAX_PDU
    ae.maximum_associations = settings.DICOM_MAX_ASSOCIATIONS
    # PS3.8 9.3.4: refuse an A-ASSOCIATE-RQ addressed to another Called AE Title.
    ae.require_called_aet = True
    return ae


def receive_to_disk(directory: Path) -> None:
    """Have pynetdicom write C-STORE data sets to disk as they arrive, not to memory.

    It writes them with NamedTemporaryFile in the default temporary folder; pointing that at
    the storage folder's partial area keeps them off a RAM-backed /tmp and lets the handler
    rename rather than copy. This changes the whole process: call it only in the listener.
    """
    partial = storage.partial_dir(directory)
    partial.mkdir(parents=True, exist_ok=True)
    removed = storage.clear_partials(directory)
    if removed:
        logger.info("Removed %d partial instances left by interrupted transfers", removed)
    tempfile.tempdir = str(partial)
    _config.STORE_RECV_CHUNKED_DATASET = True


def start_server(*, host: str, port: int, ae: AE | None = None,
                 gate: TlsGate | None = None) -> ThreadedAssociationServer:
    """Listen on (host, port) in a background thread, over TLS through `gate` if given (PS3.15
    B.1); a second server may share the first one's `ae`. Stop them with `server.ae.shutdown()`."""
    Path(settings.DICOM_STORAGE_DIR).mkdir(parents=True, exist_ok=True)
    ae = ae or application_entity()
    server_class: type[ThreadedAssociationServer] = ThreadedAssociationServer
    tls: dict[str, Any] = {}
    if gate is not None:
        server_class, tls = TlsAssociationServer, {"gate": gate}
    server = ae.make_server(
        (host, port), evt_handlers=event_handlers(), server_class=server_class,
        request_handler=BoundedRequestHandler, **tls,
    )
    # As AE.start_server(block=False) does, so that AE.shutdown() aborts and stops it.
    ae._servers.append(server)
    thread = threading.Thread(
        target=server.serve_forever, name=f"DicomServer@{server.server_address[1]}", daemon=True
    )
    thread.start()
    return server
