"""DICOM upper layer transport: a connection handler that refuses oversized PDUs unread."""

from __future__ import annotations

import logging

from django.conf import settings
from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket, RequestHandler

logger = logging.getLogger(__name__)


class BoundedAssociationSocket(AssociationSocket):
    """An association socket that will not read a PDU longer than `max_pdu_length`.

    PS3.8 9.3.1: every PDU opens with a 6-byte header whose last four bytes are the length of
    what follows, up to 2**32 - 1. pynetdicom reads the header, then asks `recv()` for that
    many bytes and buffers them all, so a peer declaring 300 MB makes the node hold 300 MB.
    Refusing here, before a byte of the body is read, makes the upper layer see the transport
    close (PS3.8 9.2 Evt17): the association ends and the listener goes on serving.
    """

    @property
    def max_pdu_length(self) -> int:
        return int(settings.DICOM_MAX_PDU_LENGTH)

    def recv(self, nr_bytes: int) -> bytearray:
        if self.max_pdu_length and nr_bytes > self.max_pdu_length:
            logger.warning(
                "Refused a PDU declaring %d bytes (limit %d) from %s",
                nr_bytes, self.max_pdu_length, self.assoc.requestor.address,
            )
            raise OSError(f"PDU length {nr_bytes} exceeds {self.max_pdu_length}")
        return super().recv(nr_bytes)


class BoundedRequestHandler(RequestHandler):
    """The association server's per-connection handler, with a bounded socket."""

    def _create_association(self) -> Association:
        assoc = super()._create_association()
        # The stock handler builds the socket and queues its Evt5 (transport indication) in one
        # step, so the socket is narrowed in place (as pynetdicom narrows DIMSE messages,
        # dimse_messages.py) rather than built twice.
        sock = assoc.dul.socket
        assert isinstance(sock, AssociationSocket)
        sock.__class__ = BoundedAssociationSocket
        return assoc
