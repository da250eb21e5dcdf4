"""What the broker delivers passes here first: bounded, decoded safely, each handler isolated.

Anyone with access to the broker can publish anything, retained or not, to every topic the
bridge subscribes to, so no handler may trust a payload's size or shape (ADR-0105):

- a payload over ``MAX_INBOUND_BYTES`` reaches handlers empty, marked ``too_large``;
- JSON is decoded by :func:`load_json` only after a linear scan over the bytes proved its
  nesting is at most ``MAX_JSON_DEPTH`` deep, so no payload can make ``json`` recurse
  without bound;
- every handler runs under :class:`Guard`: an exception is logged once (event
  ``mqtt_handler_failed``, with handler and topic, never the payload) and counted, and
  the message loop goes on.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiomqtt
import structlog
from paho.mqtt.properties import Properties

log = structlog.get_logger(__name__)

MAX_INBOUND_BYTES = 1024 * 1024  # our HA config: ~400 B per component, ~0.3 MB for `max`
MAX_JSON_DEPTH = 32  # the deepest payload we read (an HA config) nests 5 levels

T = TypeVar("T")

_JSON_SYNTAX = re.compile(rb'["\\\[\]{}]')


class PayloadError(ValueError):
    """A payload that no handler should try to read; ``reason`` is a stable snake_case word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def json_depth(data: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in ``data``, strings and escapes respected; linear time.

    Only the bytes that matter (quotes, backslashes, brackets) are visited, so this is fast
    on large payloads and never recurses. Malformed JSON is left for ``json.loads`` to refuse.
    """
    depth = deepest = 0
    in_string = False
    skip_to = 0  # the byte after a backslash inside a string is escaped
    for match in _JSON_SYNTAX.finditer(data):
        at = match.start()
        if at < skip_to:
            continue
        char = data[at]
        if in_string:
            if char == 0x5C:  # backslash
                skip_to = at + 2
            elif char == 0x22:  # quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif char in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def load_json(
    data: bytes, *, max_bytes: int = MAX_INBOUND_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """``json.loads`` for untrusted bytes: size and depth checked first, UTF-8 required."""
    if len(data) > max_bytes:
        raise PayloadError("payload_too_large")
    if json_depth(data) > max_depth:
        raise PayloadError("json_too_deep")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("not_utf8") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        raise PayloadError("invalid_json") from None


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON: echoed back (e.g. as a ``transaction``), they would
    make our own results unreadable to strict parsers."""
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True, slots=True)
class Inbound:
    """One received message, already bounded: what every handler gets instead of aiomqtt's."""

    topic: str
    payload: bytes = field(repr=False)  # a /set payload may hold a code
    retain: bool = False
    properties: Properties | None = None
    too_large: bool = False  # the payload was dropped for its size; ``payload`` is empty

    @classmethod
    def of(cls, message: aiomqtt.Message, max_bytes: int = MAX_INBOUND_BYTES) -> Inbound:
        raw = message.payload
        payload = bytes(raw) if isinstance(raw, bytes | bytearray) else b""
        too_large = len(payload) > max_bytes
        return cls(
            str(message.topic),
            b"" if too_large else payload,
            bool(message.retain),
            message.properties,
            too_large,
        )


class Guard:
    """Runs handlers so that a failing one is logged and counted, never fatal."""

    def __init__(self) -> None:
        self.failures = 0

    async def run(self, handler: str, topic: str, call: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await call()
        except Exception as exc:  # isolation is the point: any bug, logged and survived
            self.failed(handler, topic, exc)
            return None

    def failed(self, handler: str, topic: str, exc: Exception) -> None:
        """Log (once) and count a handler's exception. The exception's text is left out:
        it may quote the payload, and a payload may hold a code."""
        self.failures += 1
        frames = traceback.format_list(traceback.extract_tb(exc.__traceback__))
        log.error(
            "mqtt_handler_failed",
            handler=handler,
            topic=topic,
            error=type(exc).__name__,
            traceback="".join(frames),
            failures=self.failures,
        )


__all__ = ["Guard", "Inbound", "PayloadError", "json_depth", "load_json"]
