"""Reading inbound HL7 v2 messages with python-hl7 (HL7 v2.5 chapter 2: 2.5 framework, 2.15.9 MSH)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import hl7

from mllp.codes import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    AckError,
)

DEFAULT_FIELD_SEPARATOR = "|"
DEFAULT_ENCODING_CHARACTERS = "^~\\&"


@dataclass(frozen=True)
class Header:
    """What a response takes from the inbound MSH: raw field text, written with the inbound
    encoding characters, or the defaults when the MSH could not be read."""

    field_separator: str = DEFAULT_FIELD_SEPARATOR  # MSH-1
    # MSH-2: component, repetition, escape and subcomponent separators
    encoding_characters: str = DEFAULT_ENCODING_CHARACTERS
    sending_application: str = ""  # MSH-3
    sending_facility: str = ""  # MSH-4
    message_type: str = ""  # MSH-9.1, unescaped
    trigger_event: str = ""  # MSH-9.2, unescaped
    control_id: str = ""  # MSH-10
    processing_id: str = "P"  # MSH-11
    version_id: str = "2.5"  # MSH-12

    @property
    def component_separator(self) -> str:
        return self.encoding_characters[0]

    @property
    def subcomponent_separator(self) -> str:
        return self.encoding_characters[3]

    @property
    def message_code(self) -> str:
        """MSH-9 as logs name it: `ADT^A04`."""
        return "^".join(part for part in (self.message_type, self.trigger_event) if part)

    def escape(self, text: str) -> str:
        """`text` as field content in these encoding characters (HL7 v2.5 2.7)."""
        component, repetition, escape, subcomponent = tuple(self.encoding_characters[:4])
        # python-hl7 orders separators segment, field, repetition, component, subcomponent.
        container = hl7.Message(
            separators="\r" + self.field_separator + repetition + component + subcomponent,
            esc=escape,
        )
        return str(container.escape(text))


@dataclass(frozen=True)
class Inbound:
    """A message python-hl7 could read, with its header and the character encoding it came in."""

    message: Any  # hl7.Message
    header: Header
    encoding: str


class Unreadable(Exception):
    """Input the node cannot take as a message: what the AR that answers it needs to say."""

    def __init__(self, error: AckError, header: Header | None = None,
                 encoding: str = "utf-8") -> None:
        super().__init__(error.condition.text)
        self.error = error
        self.header = header or Header()
        self.encoding = encoding


def decode(payload: bytes) -> tuple[str, str]:
    """The text of a message and the encoding it was read with: UTF-8, else ISO 8859-1."""
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # ISO 8859-1 maps every byte, so this always succeeds.
        return payload.decode("latin-1"), "latin-1"


def normalise(text: str) -> str:
    """Segments end with <CR> (HL7 v2.5 2.5.4); senders built from text files use <LF> or <CR><LF>."""
    return text.replace("\r\n", "\r").replace("\n", "\r")


def read_message(payload: bytes) -> Inbound:
    """Parse one framed payload; raises Unreadable for anything that cannot be answered with AE."""
    text, encoding = decode(payload)
    text = normalise(text).strip()
    if not text:
        raise Unreadable(AckError(SEGMENT_SEQUENCE_ERROR, user_message="Empty message"),
                         encoding=encoding)
    # HL7 v2.5 2.15.9: a message begins with its MSH segment.
    if not text.startswith("MSH"):
        raise Unreadable(
            AckError(SEGMENT_SEQUENCE_ERROR, ("MSH", "1"),
                     "The message does not begin with an MSH segment"),
            encoding=encoding,
        )
    try:
        message = hl7.parse(text)
    except Exception as exc:  # python-hl7 raises IndexError, KeyError, ParseException, ...
        raise Unreadable(AckError(DATA_TYPE_ERROR, ("MSH", "1"), "Unreadable MSH segment"),
                         encoding=encoding) from exc
    try:
        header = read_header(message)
    except Unreadable as problem:
        raise Unreadable(problem.error, encoding=encoding) from problem
    # HL7 v2.5 2.15.9.9 and 2.15.9.10: MSH-9 (type and trigger) and MSH-10 are required.
    for number, present in ((9, header.message_type and header.trigger_event),
                            (10, header.control_id)):
        if not present:
            raise Unreadable(
                AckError(REQUIRED_FIELD_MISSING, ("MSH", "1", str(number)),
                         f"MSH-{number} is required"),
                header, encoding,
            )
    return Inbound(message=message, header=header, encoding=encoding)


def read_header(message: Any) -> Header:
    """The MSH fields a response needs. Raises Unreadable only when MSH-1 or MSH-2 is unusable;
    other fields that cannot be read are left empty."""
    try:
        msh = message.segment("MSH")
        field_separator, encoding_characters = str(msh(1)), str(msh(2))
    except Exception as exc:
        raise Unreadable(AckError(DATA_TYPE_ERROR, ("MSH", "1"), "Unreadable MSH segment")) from exc
    if not _valid_separators(field_separator, encoding_characters):
        raise Unreadable(AckError(DATA_TYPE_ERROR, ("MSH", "1", "2"), "Invalid encoding characters"))
    header = Header(field_separator=field_separator, encoding_characters=encoding_characters)
    return replace(
        header,
        sending_application=_field(msh, 3),
        sending_facility=_field(msh, 4),
        message_type=_component(msh, 9, 1),
        trigger_event=_component(msh, 9, 2),
        control_id=_field(msh, 10),
        processing_id=_field(msh, 11) or header.processing_id,
        version_id=_field(msh, 12) or header.version_id,
    )


def header_from_head(head: bytes) -> Header:
    """The header of a message known only by its first bytes (one too large to keep), or the
    defaults when its MSH segment is not all there or cannot be read."""
    text = normalise(decode(head)[0]).lstrip()
    segment, terminator, _ = text.partition("\r")
    if not terminator or not segment.startswith("MSH"):
        return Header()
    try:
        return read_header(hl7.parse(segment))
    except Exception:
        return Header()


def _valid_separators(field_separator: str, encoding_characters: str) -> bool:
    # HL7 v2.5 2.5.4: one field separator, four encoding characters (v2.7 adds a fifth,
    # the truncation character), all distinct and none of them data.
    characters = field_separator + encoding_characters
    return (
        len(field_separator) == 1
        and len(encoding_characters) in (4, 5)
        and len(set(characters)) == len(characters)
        and all(c.isprintable() and not c.isalnum() and not c.isspace() for c in characters)
    )


def _field(segment: Any, number: int) -> str:
    try:
        return str(segment(number)) if number < len(segment) else ""
    except Exception:
        return ""


def _component(segment: Any, field: int, component: int) -> str:
    try:
        return str(segment.extract_field(field_num=field, component_num=component))
    except Exception:
        # python-hl7 raises IndexError for a component past a field that has none.
        return ""
