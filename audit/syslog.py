"""Syslog transport to the ATNA audit record repository (ITI-20): the node's one seam to it.

A record leaves the node as an RFC 5424 message (`format_message`) carried by a sender:

    TlsSyslogSender    RFC 5425, syslog over mutually authenticated TLS (ITI-19), the IHE default
    UdpSyslogSender    RFC 5426, syslog over UDP, for repositories that accept nothing else

Both have `send(messages)` and `close()`; `sender_from_url` builds one from `tls://host:port`
or `udp://host:port`. One exception:

    AuditTransportError    the delivery of a batch cannot be confirmed; keep it and send it again

Nothing here reads Django settings: the caller passes the URL, the files and the timeouts.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from lib.tls import StrPath, client_context

logger = logging.getLogger(__name__)

# PRI = facility * 8 + severity: 10 (security/authorization, authpriv) and 5 (notice),
# as ITI TF-2 3.20.6 and DICOM PS3.15 A.5 require; VERSION 1 (RFC 5424 6.2).
PRI_VERSION = "<85>1"
MSGID = "IHE+RFC-3881"  # ITI TF-2 3.20.6
BOM = b"\xef\xbb\xbf"  # RFC 5424 6.4: MSG is UTF-8, announced by its BOM
MAX_SEQUENCE_ID = 2_147_483_647  # RFC 5424 7.3.1
NILVALUE = "-"
TLS_PORT = 6514  # RFC 5425 4.1
UDP_PORT = 514  # RFC 5426 3.3
# The largest UDP payload IPv4 can carry; RFC 5426 3.2 leaves anything bigger to fragmentation.
MAX_DATAGRAM = 65_507


class AuditTransportError(Exception):
    """The batch may not have reached the audit repository; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    def send(self, messages: list[bytes]) -> None: ...

    def close(self) -> None: ...


def format_message(*, xml: bytes, sequence_id: int, timestamp: datetime, hostname: str,
                   app_name: str, procid: str) -> bytes:
    """One audit record as an RFC 5424 syslog message: header, `[meta sequenceId]`, BOM, XML.

    An empty `hostname`, `app_name` or `procid` is written as the NILVALUE `-`.
    """
    if not 1 <= sequence_id <= MAX_SEQUENCE_ID:
        raise ValueError(f"sequenceId must be 1..{MAX_SEQUENCE_ID} (RFC 5424 7.3.1), got {sequence_id}")
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("the timestamp must be timezone-aware")
    # RFC 5424 6.2.3: RFC 3339, here always UTC with milliseconds.
    stamp = timestamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    header = " ".join([
        PRI_VERSION, stamp,
        _header_field("HOSTNAME", hostname, 255),  # RFC 5424 6.2.4
        _header_field("APP-NAME", app_name, 48),  # RFC 5424 6.2.5
        _header_field("PROCID", procid, 128),  # RFC 5424 6.2.6
        MSGID,
    ])
    body = xml.removeprefix(BOM)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the audit message is not UTF-8: {exc}") from exc
    return f'{header} [meta sequenceId="{sequence_id}"] '.encode("ascii") + BOM + body


def _header_field(name: str, value: str, max_length: int) -> str:
    if value == "":
        return NILVALUE
    # RFC 5424 6: header fields are 1*n PRINTUSASCII (%d33-126), no spaces.
    if len(value) > max_length or any(not 33 <= ord(c) <= 126 for c in value):
        raise ValueError(f"{name} must be 1 to {max_length} printable US-ASCII characters, "
                         f"got {value!r}")
    return value


class TlsSyslogSender:
    """RFC 5425: octet-counted frames (`LEN SP MSG`) over one mutually authenticated TLS session.

    The session stays open across batches and is opened again after any failure, with the
    certificate files read anew. Threads may share one sender: a lock takes batches one at a time.

    RFC 5425 has no acknowledgement, so a written batch is not yet a delivered one:

    * Under TLS 1.3 the client's handshake is over before the server has checked the client's
      certificate. A repository that rejects it ('unknown ca', 'certificate required') says so
      with an alert that only a later read sees, and throws away what the client wrote.
    * A repository that went away (stopped, restarted, network cut) shows only on a read or write.

    So after writing a batch the sender reads, waiting at most `probe_timeout` seconds. The
    repository never writes application data on this channel: a timeout means the session is
    healthy; an end of stream, an SSL alert or a connection error means the batch's fate is
    unknown, so the session is closed and `AuditTransportError` raised. Before writing, the same
    read without waiting tells whether a session kept from an earlier batch is still open; if not,
    a new one is opened (nothing was written into the old one since its last probe).

    What remains: records the repository received into its socket but lost before storing them
    (a crash within `probe_timeout`) are lost; no syslog sender can know of them.
    """

    def __init__(self, host: str, port: int, *, ca_file: StrPath, cert_file: StrPath,
                 key_file: StrPath, timeout: float = 10.0, probe_timeout: float = 0.25) -> None:
        self.host, self.port = host, port
        self.ca_file, self.cert_file, self.key_file = ca_file, cert_file, key_file
        self.timeout, self.probe_timeout = timeout, probe_timeout
        self._sock: ssl.SSLSocket | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TlsSyslogSender tls://{self._address}>"

    @property
    def _address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def send(self, messages: list[bytes]) -> None:
        if not messages:
            return
        # RFC 5425 4.3: SYSLOG-FRAME = MSG-LEN SP SYSLOG-MSG, MSG-LEN in octets.
        frames = b"".join(b"%d %s" % (len(message), message) for message in messages)
        with self._lock:
            sock = self._session()
            try:
                sock.settimeout(self.timeout)
                sock.sendall(frames)
            except OSError as exc:
                self._drop()
                raise AuditTransportError(f"writing to {self._address} failed: {_describe(exc)}") from exc
            trouble = _probe(sock, self.probe_timeout)
            if trouble:
                self._drop()
                raise AuditTransportError(f"{self._address}: {trouble}; delivery of "
                                          f"{len(messages)} message(s) is unknown")

    def close(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
            if sock is None:
                return
            # RFC 5425 4.4: close_notify before closing; no need to wait for the server's.
            with contextlib.suppress(OSError):
                sock.settimeout(0)
                sock.unwrap()
            sock.close()

    def _session(self) -> ssl.SSLSocket:
        if self._sock is not None:
            trouble = _probe(self._sock, 0)
            if trouble is None:
                return self._sock
            # Usually a restart or an idle timeout; an alert here may concern the last batch.
            logger.warning("audit repository %s, kept session: %s; connecting again",
                           self._address, trouble)
            self._drop()
        try:
            context = self._context()
        except OSError as exc:  # ssl.SSLError is an OSError
            raise AuditTransportError(f"cannot load the node's TLS files: {_describe(exc)}") from exc
        try:
            raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise AuditTransportError(f"cannot connect to {self._address}: {_describe(exc)}") from exc
        try:
            self._sock = context.wrap_socket(raw, server_hostname=self.host)
        except OSError as exc:
            raw.close()
            raise AuditTransportError(f"TLS handshake with {self._address} failed: {_describe(exc)}") \
                from exc
        return self._sock

    def _context(self) -> ssl.SSLContext:
        # Built for each session, so renewed certificate files are picked up without a restart.
        return client_context(ca_file=self.ca_file, cert_file=self.cert_file, key_file=self.key_file)

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _probe(sock: ssl.SSLSocket, timeout: float) -> str | None:
    """None while the session looks healthy, else what ended it (see TlsSyslogSender)."""
    try:
        sock.settimeout(timeout)
        data = sock.recv(1)
    except (ssl.SSLWantReadError, TimeoutError):
        return None  # nothing to read: the repository has not objected
    except OSError as exc:  # an SSL alert, a reset
        return f"the session ended: {_describe(exc)}"
    if not data:
        return "the audit repository closed the connection"
    return "the audit repository sent data, which RFC 5425 does not expect"


def _describe(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the repository's certificate is not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    return exc.strerror or str(exc) or type(exc).__name__


class UdpSyslogSender:
    """RFC 5426: each message in its own datagram. UDP confirms nothing, so nothing is raised:
    a message that cannot leave (too big, no route) is logged and dropped."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:
        return f"<UdpSyslogSender udp://{self.host}:{self.port}>"

    def send(self, messages: list[bytes]) -> None:
        try:
            family, _, _, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
            if self._sock is None or self._sock.family != family:
                self.close()
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as exc:
            logger.warning("audit repository udp://%s:%s unreachable, %d message(s) dropped: %s",
                           self.host, self.port, len(messages), exc)
            return
        for message in messages:
            if len(message) > MAX_DATAGRAM:
                logger.warning("audit message of %d bytes dropped: more than one UDP datagram holds",
                               len(message))
                continue
            try:
                self._sock.sendto(message, address)
            except OSError as exc:
                logger.warning("audit message to udp://%s:%s dropped: %s", self.host, self.port, exc)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def sender_from_url(url: str, *, ca_file: StrPath | None = None, cert_file: StrPath | None = None,
                    key_file: StrPath | None = None, timeout: float = 10.0) -> Sender | None:
    """The sender for `tls://host[:6514]` or `udp://host[:514]`; None for an empty URL (no audit
    repository configured). A TLS sender needs all three files."""
    if not url.strip():
        return None
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in the audit repository URL {url!r}") from exc
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        raise ValueError(f"the audit repository URL must be tls://host:port or udp://host:port, "
                         f"got {url!r}")
    if parts.scheme == "tls":
        if not (ca_file and cert_file and key_file):
            raise ValueError("a tls:// audit repository needs ca_file, cert_file and key_file (ITI-19)")
        return TlsSyslogSender(parts.hostname, port or TLS_PORT, ca_file=ca_file, cert_file=cert_file,
                               key_file=key_file, timeout=timeout)
    if parts.scheme == "udp":
        return UdpSyslogSender(parts.hostname, port or UDP_PORT)
    raise ValueError(f"the audit repository URL must start with tls:// or udp://, got {url!r}")
