"""HL7 v2.5 acknowledgments in original mode (chapter 2: 2.9.2, 2.14.1 ACK, 2.15.5 ERR, 2.15.8 MSA)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from mllp.codes import AckCode, AckError
from mllp.message import Header, read_header


def new_control_id() -> str:
    # MSH-10 is ST of at most 20 characters in v2.5; 80 random bits keep it unique.
    return uuid.uuid4().hex[:20].upper()


def message_header(header: Header, *, message_type: Sequence[str], control_id: str | None = None,
                   now: datetime | None = None) -> str:
    """Our MSH answering the message `header` came from: we send, its sender receives
    (HL7 v2.5 2.15.9.3 to 2.15.9.6), in its encoding characters, processing ID and version."""
    fields = [
        "MSH",
        header.encoding_characters,
        _hierarchic_designator(settings.MLLP_SENDING_APPLICATION, header),  # MSH-3
        _hierarchic_designator(settings.MLLP_SENDING_FACILITY, header),  # MSH-4
        header.sending_application,  # MSH-5
        header.sending_facility,  # MSH-6
        timezone.localtime(now or timezone.now()).strftime("%Y%m%d%H%M%S%z"),  # MSH-7 (DTM)
        "",  # MSH-8 security
        header.component_separator.join(header.escape(part) for part in message_type),  # MSH-9
        control_id or new_control_id(),  # MSH-10
        header.processing_id,  # MSH-11
        header.version_id,  # MSH-12
    ]
    return header.field_separator.join(fields)


def build_ack(header: Header, code: AckCode, error: AckError | None = None, *,
              control_id: str | None = None, now: datetime | None = None) -> str:
    """The ACK for the message `header` came from; an ERR segment when `error` is given."""
    # HL7 v2.5 2.14.1: MSH-9 is ACK^<trigger event of the message acknowledged>^ACK.
    message_type = ("ACK", header.trigger_event, "ACK") if header.trigger_event else ("ACK",)
    segments = [
        message_header(header, message_type=message_type, control_id=control_id, now=now),
        header.field_separator.join(["MSA", code.value, header.control_id]),
    ]
    if error is not None:
        segments.append(_error_segment(header, error))
    return "\r".join(segments) + "\r"


def ack_for(message: Any, code: AckCode = AckCode.ACCEPT, error: AckError | None = None) -> str:
    """The ACK for a parsed inbound `hl7.Message`, for handlers that answer with a plain ACK."""
    return build_ack(read_header(message), code, error)


def _error_segment(header: Header, error: AckError) -> str:
    component = header.component_separator
    condition = component.join(
        header.escape(part) for part in (error.condition.code, error.condition.text, "HL70357")
    )
    fields = [
        "ERR",
        _error_code_and_location(header, error) if _before_v2_5(header.version_id) else "",
        component.join(header.escape(part) for part in error.location),  # ERR-2
        condition,  # ERR-3 HL7 error code (CWE)
        "E",  # ERR-4 severity: error (HL7 table 0516)
        "", "", "",  # ERR-5 to ERR-7
        header.escape(error.user_message),  # ERR-8 user message
    ]
    return header.field_separator.join(fields).rstrip(header.field_separator)


def _error_code_and_location(header: Header, error: AckError) -> str:
    # ERR-1 (ELD) is how receivers before v2.5 read the error: location components, then the
    # code as a CE in subcomponents. v2.5 keeps it for backward compatibility only.
    subcomponent = header.subcomponent_separator
    location = [*error.location[:3], *[""] * (3 - len(error.location[:3]))]
    code = subcomponent.join(
        header.escape(part) for part in (error.condition.code, error.condition.text, "HL70357")
    )
    return header.component_separator.join([*(header.escape(part) for part in location), code])


def _before_v2_5(version_id: str) -> bool:
    match = re.match(r"(\d+)\.(\d+)", version_id)
    return match is not None and (int(match[1]), int(match[2])) < (2, 5)


def _hierarchic_designator(value: str, header: Header) -> str:
    # Settings write an HD with ^ between its components; the ACK uses the inbound separator.
    return header.component_separator.join(header.escape(part) for part in value.split("^"))
