"""HL7 v2.5 acknowledgment codes (table 0008) and message error conditions (table 0357)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AckCode(StrEnum):
    """HL7 table 0008, original acknowledgment mode (HL7 v2.5 2.9.2)."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


@dataclass(frozen=True)
class ErrorCondition:
    """One row of HL7 table 0357, what ERR-3 carries as `code^text^HL70357`."""

    code: str
    text: str


SEGMENT_SEQUENCE_ERROR = ErrorCondition("100", "Segment sequence error")
REQUIRED_FIELD_MISSING = ErrorCondition("101", "Required field missing")
DATA_TYPE_ERROR = ErrorCondition("102", "Data type error")
UNSUPPORTED_MESSAGE_TYPE = ErrorCondition("200", "Unsupported message type")
UNSUPPORTED_EVENT_CODE = ErrorCondition("201", "Unsupported event code")
APPLICATION_INTERNAL_ERROR = ErrorCondition("207", "Application internal error")


@dataclass(frozen=True)
class AckError:
    """What one ERR segment says (HL7 v2.5 2.15.5): the condition, where, and a line for people."""

    condition: ErrorCondition
    location: tuple[str, ...] = ()  # ERR-2 (ERL): segment ID, sequence, field position
    user_message: str = ""  # ERR-8; never patient data, never an exception's text
