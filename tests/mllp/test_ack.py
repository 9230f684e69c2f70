"""ACKs in original mode, as HL7 v2.5 chapter 2 builds them."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7
import pytest
from pytest_django.fixtures import Settings

from mllp.ack import ack_for, build_ack
from mllp.codes import (
    APPLICATION_INTERNAL_ERROR,
    REQUIRED_FIELD_MISSING,
    UNSUPPORTED_MESSAGE_TYPE,
    AckCode,
    AckError,
)
from mllp.message import Header, read_message
from tests.mllp.client import MAXIMAL_FEED

HOSPITAL_A = Header(
    sending_application="HOSPA_HIS", sending_facility="HOSPA", message_type="ADT",
    trigger_event="A04", control_id="HOSPA-0001", processing_id="P", version_id="2.5",
)
NOON = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def our_identity(settings: Settings) -> None:
    settings.MLLP_SENDING_APPLICATION = "HIENODE"
    settings.MLLP_SENDING_FACILITY = "HIE"


def test_an_accept_answers_hospital_a_from_the_node() -> None:
    ack = build_ack(HOSPITAL_A, AckCode.ACCEPT, control_id="ACK-1", now=NOON)
    assert ack == (
        "MSH|^~\\&|HIENODE|HIE|HOSPA_HIS|HOSPA|20250101120000+0000||ACK^A04^ACK|ACK-1|P|2.5\r"
        "MSA|AA|HOSPA-0001\r"
    )


def test_every_ack_has_a_new_control_id() -> None:
    first, second = (hl7.parse(build_ack(HOSPITAL_A, AckCode.ACCEPT)) for _ in range(2))
    assert str(first.segment("MSH")(10)) != str(second.segment("MSH")(10))
    assert 0 < len(str(first.segment("MSH")(10))) <= 20


def test_an_application_error_carries_a_v2_5_err_segment() -> None:
    ack = build_ack(HOSPITAL_A, AckCode.ERROR, AckError(UNSUPPORTED_MESSAGE_TYPE, ("MSH", "1", "9")))
    assert ack.split("\r")[1:] == [
        "MSA|AE|HOSPA-0001",
        "ERR||MSH^1^9|200^Unsupported message type^HL70357|E",
        "",
    ]


def test_a_user_message_goes_in_err_8_escaped() -> None:
    ack = build_ack(HOSPITAL_A, AckCode.REJECT,
                    AckError(APPLICATION_INTERNAL_ERROR, user_message="too large | 2^20 bytes"))
    err = hl7.parse(ack).segment("ERR")
    assert str(err(8)) == "too large \\F\\ 2\\S\\20 bytes"
    assert err.extract_field(field_num=8) == "too large | 2^20 bytes"


def test_receivers_before_v2_5_also_get_the_error_in_err_1() -> None:
    header = Header(control_id="345", trigger_event="A01", message_type="ADT", version_id="2.3.1")
    ack = build_ack(header, AckCode.REJECT, AckError(REQUIRED_FIELD_MISSING, ("MSH", "1", "10")))
    assert "ERR|MSH^1^10^101&Required field missing&HL70357|MSH^1^10|101^" in ack


def test_the_inbound_encoding_characters_processing_id_and_version_are_echoed() -> None:
    header = Header(field_separator="#", encoding_characters="$~\\&", message_type="ADT",
                    trigger_event="A04", control_id="H-3", processing_id="T", version_id="2.5.1")
    ack = build_ack(header, AckCode.ERROR, AckError(UNSUPPORTED_MESSAGE_TYPE), now=NOON)
    msh, msa, err = ack.rstrip("\r").split("\r")
    assert msh.startswith("MSH#$~\\&#HIENODE#HIE###20250101120000+0000##ACK$A04$ACK#")
    assert msh.endswith("#T#2.5.1")
    assert msa == "MSA#AE#H-3"
    assert err == "ERR###200$Unsupported message type$HL70357#E"


def test_an_unreadable_message_is_answered_from_our_own_header() -> None:
    ack = build_ack(Header(), AckCode.REJECT, AckError(APPLICATION_INTERNAL_ERROR), now=NOON,
                    control_id="ACK-2")
    assert ack.split("\r")[:2] == [
        "MSH|^~\\&|HIENODE|HIE|||20250101120000+0000||ACK|ACK-2|P|2.5",
        "MSA|AR|",
    ]


def test_our_identity_may_be_a_hierarchic_designator(settings: Settings) -> None:
    settings.MLLP_SENDING_APPLICATION = "HIENODE^1.3.6.1.4.1.21367.2005.3.7^ISO"
    header = Header(field_separator="#", encoding_characters="$~\\&", control_id="1")
    msh = hl7.parse(build_ack(header, AckCode.ACCEPT)).segment("MSH")
    assert str(msh(3)) == "HIENODE$1.3.6.1.4.1.21367.2005.3.7$ISO"


def test_a_handler_acknowledges_the_maximal_feed_with_sender_and_receiver_swapped() -> None:
    inbound = read_message(MAXIMAL_FEED.read_bytes())
    ack = hl7.parse(ack_for(inbound.message))
    msh = ack.segment("MSH")
    assert str(msh(5)) == str(inbound.message.segment("MSH")(3))
    assert str(msh(6)) == "unknown"
    assert str(msh(9)) == "ACK^A01^ACK"
    assert (str(msh(11)), str(msh(12))) == ("P^T", "2.3.1")
    assert str(ack.segment("MSA")(1)) == "AA"
    assert str(ack.segment("MSA")(2)) == "345@21acf7be-007c-41e6-b176-d0969794983b"
