"""Brace-balanced reader for the unframed JSON phase (banner, ``api_link``, ``hello``).

The panel sends concatenated objects with no separator, split anywhere (protocol §2.3, §7.4).
The reader buffers across reads and can hand its unparsed remainder to the deframer.
"""

from __future__ import annotations

import json
from typing import Any

MAX_BUFFER = 8192
FRAME_START = b"\x7e"  # never part of cleartext JSON outside a string


class JsonObjectReader:
    def __init__(self, max_buffer: int = MAX_BUFFER) -> None:
        self._buffer = bytearray()
        self._max_buffer = max_buffer
        self.overflowed = False

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Return every complete JSON object; bytes between objects are skipped.

        A frame start byte (0x7E) between objects begins the framed phase: parsing stops
        there, and it and everything after it stay for ``take_remainder``.
        """
        self._buffer += data
        objects: list[dict[str, Any]] = []
        while True:
            start = self._buffer.find(b"{")
            framed_at = self._buffer.find(FRAME_START)
            if framed_at >= 0 and (start < 0 or framed_at < start):
                del self._buffer[:framed_at]
                if len(self._buffer) > self._max_buffer:
                    self._buffer.clear()
                    self.overflowed = True
                break
            if start < 0:
                self._buffer.clear()
                break
            end = _object_end(self._buffer, start)
            if end is None:
                del self._buffer[:start]
                if len(self._buffer) > self._max_buffer:
                    self._buffer.clear()
                    self.overflowed = True
                break
            text = bytes(self._buffer[start:end])
            del self._buffer[:end]
            try:
                value = json.loads(text.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue
            if isinstance(value, dict):
                objects.append(value)
        return objects

    def take_remainder(self) -> bytes:
        """Everything not yet parsed (belongs to the framed phase once HELLO is done)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


def _object_end(buffer: bytearray, start: int) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(buffer)):
        char = buffer[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == 0x5C:  # backslash
                escaped = True
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char == 0x7B:
            depth += 1
        elif char == 0x7D:
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON exactly as the reference serialises it (comparable with vectors)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
