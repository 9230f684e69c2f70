"""A plain blocking MLLP client for tests: what a hospital's interface engine does on the wire."""

from __future__ import annotations

import socket
from pathlib import Path

import hl7

from mllp.framing import END_OF_FRAME, START_BLOCK, frame

ROOT = Path(__file__).resolve().parents[2]
PIX_PDQ_EXAMPLES = ROOT.parent / "shared" / "ihe" / "examples" / "pix-pdq"
# A real ITI-8 feed (IPF's conformance examples): ADT^A01 from a hospital, HL7 v2.3.1.
MAXIMAL_FEED = PIX_PDQ_EXAMPLES / "pixfeed" / "v2" / "PIX_FEED_REG_Maximal_Request.hl7"
# A real ITI-8 patient registration, ADT^A04.
REGISTRATION = PIX_PDQ_EXAMPLES / "pixsource" / "v2" / "A04.hl7"


def connect(port: int, timeout: float = 30.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def unframe(block: bytes) -> bytes:
    """The message in an MLLP block."""
    return block[block.index(START_BLOCK) + 1 : block.index(END_OF_FRAME)]


def read_frame(sock: socket.socket) -> bytes:
    """The next message the peer sends, without its framing; b"" when it closes first."""
    data = b""
    while END_OF_FRAME not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    return unframe(data)


def exchange(sock: socket.socket, message: bytes) -> bytes:
    sock.sendall(frame(message))
    return read_frame(sock)


def parse(reply: bytes) -> hl7.Message:
    return hl7.parse(reply.decode("utf-8"))


def msa(reply: bytes) -> tuple[str, str]:
    """MSA-1 (the acknowledgment code) and MSA-2 (the control id acknowledged)."""
    segment = parse(reply).segment("MSA")
    return str(segment(1)), str(segment(2)) if len(segment) > 2 else ""


def err3(reply: bytes) -> str:
    """ERR-3, the HL7 error code, as `code^text^HL70357`."""
    return str(parse(reply).segment("ERR")(3))


def control_id(message: bytes) -> str:
    return str(hl7.parse(message.decode("utf-8").replace("\n", "\r")).segment("MSH")(10))
