"""MLLP framing (HL7 v2.5.1 Appendix C, MLLP release 2): <SB> message <EB><CR>, bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

# HL7 v2.5.1 Appendix C, MLLP: the block is <SB>dddd<EB><CR>.
START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\x0d"
END_OF_FRAME = END_BLOCK + CARRIAGE_RETURN

# How much of an oversized message is kept: enough for its MSH segment, so that the
# reject can still name the message it rejects (MSA-2).
HEAD_BYTES = 4096
READ_CHUNK_BYTES = 64 * 1024


def frame(message: bytes) -> bytes:
    """Wrap one encoded message in an MLLP block."""
    return START_BLOCK + message + END_OF_FRAME


@dataclass(frozen=True)
class Frame:
    """A complete message: the bytes between <SB> and <EB><CR>."""

    payload: bytes


@dataclass(frozen=True)
class OversizedFrame:
    """A message longer than the limit, discarded as it arrived; `head` is its first bytes."""

    size: int
    head: bytes


FrameEvent = Frame | OversizedFrame


class FrameDecoder:
    """Turns the bytes of one connection into frames; knows no sockets (feed it, read events).

    Bytes outside a block are dropped (MLLP gives them no meaning). A message that grows past
    `max_message_bytes` stops being buffered: the rest is counted and dropped up to its <EB><CR>,
    so one connection never holds more than the limit plus one read chunk.
    """

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.skipped_bytes = 0  # bytes seen outside any block
        self._in_frame = False
        self._buffer = bytearray()
        self._searched = 0  # bytes of _buffer already searched for <EB><CR>
        self._discarding = False
        self._discarded = 0
        self._head = b""
        self._ends_with_end_block = False  # while discarding: the last byte seen was <EB>

    @property
    def mid_frame(self) -> bool:
        """True when a block has started and not ended."""
        return self._in_frame

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the current message held in memory."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[FrameEvent]:
        events: list[FrameEvent] = []
        while data:
            if not self._in_frame:
                data = self._find_start(data)
            elif self._discarding:
                data = self._discard(data, events)
            else:
                data = self._collect(data, events)
        return events

    def _find_start(self, data: bytes) -> bytes:
        start = data.find(START_BLOCK)
        if start < 0:
            self.skipped_bytes += len(data)
            return b""
        self.skipped_bytes += start
        self._in_frame = True
        return data[start + 1 :]

    def _collect(self, data: bytes, events: list[FrameEvent]) -> bytes:
        self._buffer += data
        # Start one byte back: <EB> may have ended the previous chunk and <CR> begun this one.
        end = self._buffer.find(END_OF_FRAME, max(0, self._searched - 1))
        if end < 0:
            self._searched = len(self._buffer)
            if len(self._buffer) > self.max_message_bytes:
                self._start_discarding()
            return b""
        payload, rest = bytes(self._buffer[:end]), bytes(self._buffer[end + 2 :])
        self._end_frame()
        if len(payload) > self.max_message_bytes:
            events.append(OversizedFrame(size=len(payload), head=payload[:HEAD_BYTES]))
        else:
            events.append(Frame(payload))
        return rest

    def _start_discarding(self) -> None:
        self._head = bytes(self._buffer[:HEAD_BYTES])
        self._discarded = len(self._buffer)
        self._ends_with_end_block = self._buffer.endswith(END_BLOCK)
        self._buffer = bytearray()
        self._discarding = True

    def _discard(self, data: bytes, events: list[FrameEvent]) -> bytes:
        if self._ends_with_end_block and data.startswith(CARRIAGE_RETURN):
            size, rest = self._discarded - 1, data[1:]
        else:
            end = data.find(END_OF_FRAME)
            if end < 0:
                self._discarded += len(data)
                self._ends_with_end_block = data.endswith(END_BLOCK)
                return b""
            size, rest = self._discarded + end, data[end + 2 :]
        events.append(OversizedFrame(size=size, head=self._head))
        self._end_frame()
        return rest

    def _end_frame(self) -> None:
        self._in_frame = False
        self._buffer = bytearray()
        self._searched = 0
        self._discarding = False
        self._discarded = 0
        self._head = b""
        self._ends_with_end_block = False


class FrameReader:
    """Yields the frames of an asyncio stream; a read waiting longer than `idle_timeout` raises
    TimeoutError. The stream ending, even mid-frame, ends the iteration (see `mid_frame`)."""

    def __init__(self, reader: asyncio.StreamReader, *, max_message_bytes: int,
                 idle_timeout: float | None = None) -> None:
        self._reader = reader
        self._decoder = FrameDecoder(max_message_bytes)
        self._idle_timeout = idle_timeout if idle_timeout and idle_timeout > 0 else None

    @property
    def mid_frame(self) -> bool:
        return self._decoder.mid_frame

    async def __aiter__(self) -> AsyncIterator[FrameEvent]:
        while True:
            async with asyncio.timeout(self._idle_timeout):
                chunk = await self._reader.read(READ_CHUNK_BYTES)
            if not chunk:
                return
            for event in self._decoder.feed(chunk):
                yield event
