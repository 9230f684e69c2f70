"""MLLP framing: blocks in, messages out, with memory bounded by the message limit."""

from __future__ import annotations

import asyncio

import pytest

from mllp.framing import (
    HEAD_BYTES,
    Frame,
    FrameDecoder,
    FrameReader,
    OversizedFrame,
    frame,
)

MESSAGE = b"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101120000||ADT^A04|HOSPA-1|P|2.5\rPV1||O\r"


def feed_all(decoder: FrameDecoder, *chunks: bytes) -> list[Frame | OversizedFrame]:
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_a_message_is_framed_between_start_block_and_end_block_with_carriage_return() -> None:
    assert frame(b"MSH|") == b"\x0bMSH|\x1c\x0d"


def test_a_complete_block_yields_its_message() -> None:
    assert FrameDecoder(1024).feed(frame(MESSAGE)) == [Frame(MESSAGE)]


def test_bytes_before_the_start_block_are_discarded() -> None:
    decoder = FrameDecoder(1024)
    assert decoder.feed(b"\r\nnoise\x1c\x0d" + frame(MESSAGE)) == [Frame(MESSAGE)]
    assert decoder.skipped_bytes == len(b"\r\nnoise\x1c\x0d")


def test_a_message_sent_one_byte_at_a_time_is_reassembled() -> None:
    wire = frame(MESSAGE)
    events = feed_all(FrameDecoder(1024), *(wire[i : i + 1] for i in range(len(wire))))
    assert events == [Frame(MESSAGE)]


def test_two_messages_in_one_read_yield_two_frames() -> None:
    events = FrameDecoder(1024).feed(frame(b"MSH|1") + frame(b"MSH|2"))
    assert events == [Frame(b"MSH|1"), Frame(b"MSH|2")]


def test_an_end_block_not_followed_by_carriage_return_belongs_to_the_message() -> None:
    assert FrameDecoder(1024).feed(frame(b"a\x1cb")) == [Frame(b"a\x1cb")]


def test_an_empty_block_yields_an_empty_message() -> None:
    assert FrameDecoder(1024).feed(b"\x0b\x1c\x0d") == [Frame(b"")]


def test_a_message_exactly_at_the_limit_is_kept() -> None:
    payload = b"x" * 100
    assert FrameDecoder(100).feed(frame(payload)) == [Frame(payload)]


def test_a_message_past_the_limit_is_reported_with_its_size_and_head() -> None:
    payload = MESSAGE + b"x" * 10_000
    assert FrameDecoder(1000).feed(frame(payload)) == [
        OversizedFrame(size=len(payload), head=payload[:HEAD_BYTES])
    ]


def test_an_oversized_message_is_counted_not_buffered() -> None:
    decoder = FrameDecoder(1000)
    decoder.feed(b"\x0b" + MESSAGE)
    for _ in range(100):
        assert decoder.feed(b"x" * 4096) == []
        assert decoder.buffered_bytes == 0
    [event] = decoder.feed(b"\x1c\x0d")
    assert isinstance(event, OversizedFrame)
    assert event.size == len(MESSAGE) + 409_600
    assert event.head.startswith(MESSAGE)
    assert len(event.head) <= HEAD_BYTES


def test_an_oversized_message_ends_even_when_its_end_block_and_carriage_return_arrive_apart(
) -> None:
    decoder = FrameDecoder(10)
    events = feed_all(decoder, b"\x0b" + b"x" * 50, b"y" * 50 + b"\x1c", b"\x0d")
    assert events == [OversizedFrame(size=100, head=b"x" * 50)]
    assert not decoder.mid_frame


def test_the_connection_is_usable_after_an_oversized_message() -> None:
    decoder = FrameDecoder(100)
    wire = frame(b"x" * 1000)
    events = feed_all(decoder, wire[:500], wire[500:] + frame(b"ok"))
    oversized, following = events
    assert isinstance(oversized, OversizedFrame)
    assert oversized.size == 1000
    assert following == Frame(b"ok")


def test_a_block_started_and_not_ended_is_mid_frame() -> None:
    decoder = FrameDecoder(1024)
    assert decoder.feed(b"\x0bMSH|^~\\&|") == []
    assert decoder.mid_frame


def read_all(data: bytes, *, idle_timeout: float | None = None, eof: bool = True) -> tuple[
        list[Frame | OversizedFrame], bool]:
    async def run() -> tuple[list[Frame | OversizedFrame], bool]:
        stream = asyncio.StreamReader()
        stream.feed_data(data)
        if eof:
            stream.feed_eof()
        frames = FrameReader(stream, max_message_bytes=1024, idle_timeout=idle_timeout)
        return [event async for event in frames], frames.mid_frame

    return asyncio.run(run())


def test_a_stream_yields_every_message_then_ends_at_eof() -> None:
    assert read_all(frame(b"MSH|1") + frame(b"MSH|2")) == ([Frame(b"MSH|1"), Frame(b"MSH|2")],
                                                           False)


def test_a_stream_closed_in_the_middle_of_a_message_ends_cleanly() -> None:
    assert read_all(frame(b"MSH|1") + b"\x0bMSH|^~\\&|HOSPA") == ([Frame(b"MSH|1")], True)


def test_a_silent_stream_times_out() -> None:
    with pytest.raises(TimeoutError):
        read_all(b"", idle_timeout=0.05, eof=False)
