"""Dispatch on MSH-9: from a framed payload to the bytes that answer it (runs in a worker thread)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import hl7
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils.module_loading import import_string

from mllp.ack import build_ack
from mllp.codes import (
    APPLICATION_INTERNAL_ERROR,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_MESSAGE_TYPE,
    AckCode,
    AckError,
)
from mllp.message import Header, Inbound, Unreadable, header_from_head, normalise, read_message
from mllp.peer import peer_of

logger = logging.getLogger(__name__)

Handler = Callable[[Any], str]  # (hl7.Message) -> the whole response, segments joined by <CR>


class Route(Protocol):
    """A line of config.routes.HL7V2_ROUTES."""

    @property
    def message_type(self) -> str: ...
    @property
    def trigger_event(self) -> str: ...
    @property
    def transaction(self) -> str: ...
    @property
    def handler(self) -> str: ...


@dataclass(frozen=True)
class Reply:
    """What goes back on the wire, and what the log may say about the exchange."""

    payload: bytes
    message_code: str  # inbound MSH-9 as `ADT^A04`, "" when unreadable
    control_id: str  # inbound MSH-10
    ack_code: str  # MSA-1 of the reply
    refusal: str = ""  # ERR-3 of an AE/AR this package built (`200 Unsupported message type`)


class Router:
    """The HL7 v2 routes with their handlers imported once, at start-up."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._handlers: dict[tuple[str, str], tuple[Route, Handler]] = {}
        for route in routes:
            key = (route.message_type, route.trigger_event)
            if key in self._handlers:
                raise ImproperlyConfigured(f"two HL7 v2 routes for {'^'.join(key)}")
            self._handlers[key] = (route, import_string(route.handler))
        self._message_types = {message_type for message_type, _ in self._handlers}

    def respond(self, payload: bytes, organisation: str = "") -> Reply:
        """The reply to one framed message from a peer of `organisation` ("" on the plain port).
        Never raises: whatever fails becomes an AE or AR."""
        try:
            with peer_of(organisation):
                return self._respond(payload)
        except Exception as exc:
            # Only a bug in this package gets here; its text may quote the message, so not logged.
            logger.error("MLLP reply failed: %s", type(exc).__name__)
            return _ack_reply(Header(), AckCode.REJECT, AckError(APPLICATION_INTERNAL_ERROR),
                              encoding="utf-8")

    def reject_oversized(self, *, head: bytes, size: int, limit: int) -> Reply:
        """The AR for a message discarded for being larger than `limit` bytes."""
        message = f"Message too large: {size} bytes, the limit is {limit} bytes"
        return _ack_reply(header_from_head(head), AckCode.REJECT,
                          AckError(APPLICATION_INTERNAL_ERROR, user_message=message),
                          encoding="utf-8")

    def _respond(self, payload: bytes) -> Reply:
        try:
            inbound = read_message(payload)
        except Unreadable as problem:
            return _ack_reply(problem.header, AckCode.REJECT, problem.error, problem.encoding)
        header = inbound.header
        found = self._handlers.get((header.message_type, header.trigger_event))
        if found is None:
            # HL7 v2.5 2.9.2: a message the receiver does not take is answered with AE.
            condition = (UNSUPPORTED_EVENT_CODE if header.message_type in self._message_types
                         else UNSUPPORTED_MESSAGE_TYPE)
            return _ack_reply(header, AckCode.ERROR, AckError(condition, ("MSH", "1", "9")),
                              inbound.encoding)
        route, handler = found
        return self._run(route, handler, inbound)

    def _run(self, route: Route, handler: Handler, inbound: Inbound) -> Reply:
        header = inbound.header
        close_old_connections()
        try:
            text = handler(inbound.message)
            if not isinstance(text, str) or not text.strip():
                raise TypeError(f"{route.handler} returned no message")
        except Exception as exc:
            # The exception text may carry patient data: log where it was raised, not what it says.
            where = traceback.extract_tb(exc.__traceback__)[-1]
            logger.error("%s handler %s raised %s at %s:%s", route.transaction, route.handler,
                         type(exc).__name__, where.filename, where.lineno)
            return _ack_reply(header, AckCode.ERROR, AckError(APPLICATION_INTERNAL_ERROR),
                              inbound.encoding)
        finally:
            close_old_connections()
        text = normalise(text)
        return Reply(payload=text.encode(inbound.encoding, errors="replace"),
                     message_code=header.message_code, control_id=header.control_id,
                     ack_code=_acknowledgment_code(text))


def _ack_reply(header: Header, code: AckCode, error: AckError, encoding: str) -> Reply:
    return Reply(payload=build_ack(header, code, error).encode(encoding, errors="replace"),
                 message_code=header.message_code, control_id=header.control_id,
                 ack_code=code.value,
                 refusal=f"{error.condition.code} {error.condition.text}" if code != AckCode.ACCEPT else "")


def _acknowledgment_code(text: str) -> str:
    """MSA-1 of a handler's response, for the log."""
    try:
        return str(hl7.parse(text).segment("MSA")(1))
    except Exception:
        return ""
