"""DICOM upper layer transport: a connection handler that refuses oversized PDUs unread, and
the TLS association server that authenticates its peers (PS3.15 B.1, ITI-19)."""

from __future__ import annotations

import logging
import socket
import ssl
import weakref
from typing import Any

from django.conf import settings
from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket, RequestHandler, ThreadedAssociationServer

from lib.tls import HANDSHAKE_TIMEOUT, TlsGate, refusal_reason

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


# The organisation each authenticated TLS socket belongs to, for the handlers' audit records;
# entries go with their sockets.
AUTHENTICATED: weakref.WeakKeyDictionary[socket.socket, str] = weakref.WeakKeyDictionary()


def organisation_of(assoc: Any) -> str:
    """The organisation of the certificate an association's peer presented; "" on plain DICOM."""
    transport = getattr(assoc.dul, "socket", None)
    raw = getattr(transport, "socket", None)
    return AUTHENTICATED.get(raw, "") if raw is not None else ""


class TlsAssociationServer(ThreadedAssociationServer):
    """An association server on the DICOM TLS port (PS3.15 B.1, the Basic TLS Secure Transport
    Connection Profile) whose peers are authenticated nodes of the exchange (ITI TF-2 3.19).

    pynetdicom wraps and handshakes in `get_request`, on the thread that accepts every
    connection: one peer stalling its handshake would hold up all the others. Here `get_request`
    only wraps; the handshake and the certificate's organisation are settled first thing in the
    connection's own thread, and a refused peer is told to the gate and dropped.
    """

    def __init__(self, *args: Any, gate: TlsGate, **kwargs: Any) -> None:
        # The gate's context wraps every connection; AE.make_server's ssl_context stays unused.
        self.gate = gate
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        assert self.socket is not None
        client_socket, address = self.socket.accept()
        wrapped = self.gate.context.wrap_socket(client_socket, server_side=True,
                                                do_handshake_on_connect=False)
        return wrapped, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if not self._authenticated(request, client_address):
            self.shutdown_request(request)
            return
        super().process_request_thread(request, client_address)

    def _authenticated(self, tls: ssl.SSLSocket, address: tuple[str, int]) -> bool:
        """The TLS handshake, then whose certificate it is (ITI TF-2 3.19); False: drop."""
        host, peer = str(address[0]), f"{address[0]}:{address[1]}"
        previous = tls.gettimeout()
        try:
            tls.settimeout(HANDSHAKE_TIMEOUT)
            tls.do_handshake()
            tls.settimeout(previous)
        except ssl.SSLEOFError:
            logger.info("%s left during the TLS handshake", peer)  # a port probe: nothing to audit
            return False
        except ssl.SSLError as exc:
            reason = refusal_reason(exc)
            logger.warning("%s refused in the TLS handshake: %s", peer, reason)
            self.gate.refused(host, reason)
            return False
        except OSError as exc:  # reset, or the handshake timed out
            logger.info("%s lost during the TLS handshake: %s", peer, type(exc).__name__)
            return False
        organisation = self.gate.admit(host, tls.getpeercert(binary_form=True))
        if not organisation:
            logger.warning("%s refused: its certificate belongs to no organisation", peer)
            return False
        logger.info("%s authenticated as %s", peer, organisation)
        AUTHENTICATED[tls] = organisation
        return True
