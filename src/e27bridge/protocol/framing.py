"""Link-layer frames: start byte 0x7E, ``7E 00`` escaping, LE length and CRC (protocol §4).

The deframer never raises: it reports every discarded byte run as a ``FramingError`` value
and resynchronises on the next start byte, so a corrupt stream cannot stall a session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from e27bridge.protocol.crc import crc16

START = 0x7E
MIN_LENGTH = 5
MAX_LENGTH = 4096


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7e", b"\x7e\x00")


def encode_frame(protocol: int, data: bytes) -> bytes:
    """Wire bytes for one frame; ``L`` counts protocol, length, data and CRC, unescaped."""
    length = len(data) + 5
    if not 0 < protocol <= 0xFF or protocol == START:
        raise ValueError(f"invalid protocol byte {protocol:#x}")
    if length > MAX_LENGTH:
        raise ValueError(f"frame too long: {length} > {MAX_LENGTH}")
    body = bytes((protocol, length & 0xFF, length >> 8)) + data
    crc = crc16(body)
    return bytes((START,)) + escape(body + bytes((crc & 0xFF, crc >> 8)))


@dataclass(frozen=True, slots=True)
class Frame:
    """A CRC-valid frame: the protocol byte and the (unescaped) data."""

    protocol: int
    data: bytes

    @property
    def padding(self) -> int:
        return self.protocol & 0x0F

    @property
    def encrypted(self) -> bool:
        return bool(self.protocol & 0x80)


class FramingErrorKind(enum.Enum):
    NOISE = "noise"  # bytes outside any frame
    BAD_LENGTH = "bad_length"  # length field below 5 or above the limit
    BAD_CRC = "bad_crc"
    TRUNCATED = "truncated"  # a new start byte arrived before the frame was complete


@dataclass(frozen=True, slots=True)
class FramingError:
    kind: FramingErrorKind
    discarded: int  # number of bytes thrown away


DeframerEvent = Frame | FramingError


class _State(enum.Enum):
    HUNTING = 0
    BODY = 1


class Deframer:
    """Incremental receiver: feed arbitrary chunks, get frames and errors back."""

    def __init__(self, max_length: int = MAX_LENGTH) -> None:
        self._max_length = max_length
        self._state = _State.HUNTING
        self._escape = False
        self._body = bytearray()
        self._expected = 0
        self._noise = 0

    def feed(self, chunk: bytes) -> list[DeframerEvent]:
        events: list[DeframerEvent] = []
        index, size = 0, len(chunk)
        while index < size:
            if self._escape:
                self._escape = False
                byte = chunk[index]
                index += 1
                if byte == 0x00:
                    self._take(START, events)
                else:
                    self._start(byte, events)
                continue
            if chunk[index] == START:
                self._escape = True
                index += 1
                continue
            # Runs without a start byte are copied in bulk (same result as byte by byte).
            if self._state is _State.HUNTING:
                stop = chunk.find(b"\x7e", index)
                stop = size if stop < 0 else stop
                self._noise += stop - index
                index = stop
            elif self._expected:
                want = self._expected - len(self._body)
                stop = chunk.find(b"\x7e", index, index + want)
                stop = min(size, index + want) if stop < 0 else stop
                self._body += chunk[index:stop]
                index = stop
                if len(self._body) == self._expected:
                    self._finish(events)
            else:
                self._take(chunk[index], events)
                index += 1
        return events

    def flush_noise(self) -> list[DeframerEvent]:
        """Report pending noise now (e.g. at connection close)."""
        events: list[DeframerEvent] = []
        self._report_noise(events)
        return events

    def _report_noise(self, events: list[DeframerEvent]) -> None:
        if self._noise:
            events.append(FramingError(FramingErrorKind.NOISE, self._noise))
            self._noise = 0

    def _start(self, protocol: int, events: list[DeframerEvent]) -> None:
        self._report_noise(events)
        if self._state is not _State.HUNTING:
            events.append(FramingError(FramingErrorKind.TRUNCATED, len(self._body)))
        self._body = bytearray((protocol,))
        self._state = _State.BODY
        self._expected = 0

    def _take(self, byte: int, events: list[DeframerEvent]) -> None:
        if self._state is _State.HUNTING:
            self._noise += 1
            return
        body = self._body
        body.append(byte)
        if len(body) == 3:
            length = body[1] | (body[2] << 8)
            if length < MIN_LENGTH or length > self._max_length:
                events.append(FramingError(FramingErrorKind.BAD_LENGTH, 3))
                self._state = _State.HUNTING
                return
            self._expected = length
        if self._expected and len(body) == self._expected:
            self._finish(events)

    def _finish(self, events: list[DeframerEvent]) -> None:
        body = self._body
        self._state = _State.HUNTING
        if crc16(bytes(body)) != 0:
            events.append(FramingError(FramingErrorKind.BAD_CRC, len(body)))
            return
        events.append(Frame(body[0], bytes(body[3:-2])))
