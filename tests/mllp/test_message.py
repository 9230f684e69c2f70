"""Reading inbound messages: bytes to python-hl7, and the MSH fields a response needs."""

from __future__ import annotations

import pytest

from mllp.codes import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE_ERROR
from mllp.message import Header, Unreadable, header_from_head, read_message
from tests.mllp.client import MAXIMAL_FEED, REGISTRATION

HOSPITAL_A_REGISTRATION = (
    "MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101120000||ADT^A04^ADT_A01|HOSPA-0001|P|2.5\r"
    "EVN||20250101120000\r"
    "PID|||A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO^PI||MÜLLER^ANNA||19800101|F\r"
    "PV1||O\r"
)


def test_the_maximal_feed_is_read_with_its_header() -> None:
    inbound = read_message(MAXIMAL_FEED.read_bytes())
    assert inbound.header == Header(
        sending_application="1.2.840.114350.1.13.99998.8734^1.2.840.114350.1.13.99998.8734^ISO",
        sending_facility="unknown",
        message_type="ADT",
        trigger_event="A01",
        control_id="345@21acf7be-007c-41e6-b176-d0969794983b",
        processing_id="P^T",
        version_id="2.3.1",
    )
    assert inbound.encoding == "utf-8"
    assert str(inbound.message.segment("PID")(5)).startswith("WASHINGTON^MARY")


def test_a_registration_is_read_as_adt_a04() -> None:
    header = read_message(REGISTRATION.read_bytes()).header
    assert (header.message_code, header.control_id) == ("ADT^A04", "205632")


def test_line_feeds_between_segments_are_read_as_segment_terminators() -> None:
    for newline in ("\n", "\r\n"):
        inbound = read_message(HOSPITAL_A_REGISTRATION.replace("\r", newline).encode())
        assert [str(segment(0)) for segment in inbound.message] == ["MSH", "EVN", "PID", "PV1"]


def test_utf8_is_read_as_utf8() -> None:
    inbound = read_message(HOSPITAL_A_REGISTRATION.encode("utf-8"))
    assert inbound.encoding == "utf-8"
    assert str(inbound.message.segment("PID")(5)) == "MÜLLER^ANNA"


def test_what_is_not_utf8_is_read_as_latin1() -> None:
    inbound = read_message(HOSPITAL_A_REGISTRATION.encode("latin-1"))
    assert inbound.encoding == "latin-1"
    assert str(inbound.message.segment("PID")(5)) == "MÜLLER^ANNA"


def rejection(payload: bytes) -> Unreadable:
    with pytest.raises(Unreadable) as caught:
        read_message(payload)
    return caught.value


def test_an_empty_message_is_a_segment_sequence_error() -> None:
    for payload in (b"", b"\r\n  \r"):
        assert rejection(payload).error.condition == SEGMENT_SEQUENCE_ERROR


def test_a_message_not_beginning_with_msh_is_a_segment_sequence_error() -> None:
    problem = rejection(b"PID|||A123\rPV1||O\r")
    assert problem.error.condition == SEGMENT_SEQUENCE_ERROR
    assert problem.header == Header()


def test_garbage_bytes_are_a_segment_sequence_error() -> None:
    assert rejection(bytes(range(256))).error.condition == SEGMENT_SEQUENCE_ERROR


@pytest.mark.parametrize("payload", [b"MSH", b"MSH|", b"MSH|^", b"MSH|^~\\&", b"MSHAB^~\\&|",
                                     b"MSH|^^\\&|A", b"MSH\rPID|1"])
def test_an_unreadable_msh_is_a_data_type_error(payload: bytes) -> None:
    problem = rejection(payload)
    assert problem.error.condition == DATA_TYPE_ERROR
    assert problem.header == Header()


def test_a_message_without_trigger_event_misses_a_required_field() -> None:
    problem = rejection(b"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101||ADT|HOSPA-2|P|2.5\r")
    assert problem.error.condition == REQUIRED_FIELD_MISSING
    assert problem.error.location == ("MSH", "1", "9")
    assert problem.header.control_id == "HOSPA-2"


def test_a_message_without_control_id_misses_a_required_field() -> None:
    problem = rejection(b"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101||ADT^A04||P|2.5\r")
    assert problem.error.condition == REQUIRED_FIELD_MISSING
    assert problem.error.location == ("MSH", "1", "10")


def test_other_encoding_characters_are_kept_in_the_header() -> None:
    header = read_message(b"MSH#$~\\&#HOSPA_HIS#HOSPA#HIENODE#HIE#20250101##ADT$A04#H-3#P#2.5\r").header
    assert (header.field_separator, header.encoding_characters) == ("#", "$~\\&")
    assert header.message_code == "ADT^A04"


def test_the_header_of_a_message_known_by_its_first_bytes_is_read() -> None:
    head = HOSPITAL_A_REGISTRATION.encode()[:200]
    assert header_from_head(head).control_id == "HOSPA-0001"


def test_a_head_cut_inside_the_msh_gives_the_default_header() -> None:
    assert header_from_head(HOSPITAL_A_REGISTRATION.encode()[:60]) == Header()
    assert header_from_head(b"\x00\xff garbage\r") == Header()
