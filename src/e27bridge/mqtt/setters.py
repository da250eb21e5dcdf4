"""Reading ``/set`` payloads: strict readers a kind's settable properties are built from.

A malformed payload raises :class:`InvalidCommand` with a stable snake_case reason and never
reaches the panel. Codes travel only inside the command object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from e27bridge.mqtt.inbound import PayloadError, load_json
from e27bridge.panel.commands import Command, parse_pin
from e27bridge.panel.state import ArmMode

MAX_PAYLOAD = 1024
_MODE_TEXT = re.compile(r"^[A-Za-z0-9_]{1,16}$")


class InvalidCommand(ValueError):
    """A ``/set`` that cannot become a command; ``reason`` is a stable snake_case word."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command
    transaction: Any = None


@dataclass(frozen=True, slots=True)
class SetRequest:
    """What a ``/set`` is parsed against besides its payload."""

    number: int  # the entity's id
    arm_modes: tuple[ArmMode, ...]  # what the panel accepts
    bypass_code: int | None = None  # the configured code for the bypass switch


Setter = Callable[[SetRequest, bytes], Parsed]


def simple(make: Callable[[int, bytes], Command]) -> Setter:
    """A setter whose command needs only the entity id and the payload (no transaction)."""
    return lambda request, payload: Parsed(make(request.number, payload))


def text(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise InvalidCommand("payload_too_large")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidCommand("not_utf8") from None


def boolean(payload: bytes) -> bool:
    value = text(payload)
    if value not in ("true", "false"):
        raise InvalidCommand("invalid_value", "expected true or false")
    return value == "true"


def integer(payload: bytes, low: int, high: int) -> int:
    value = text(payload)
    if not re.fullmatch(r"-?[0-9]{1,6}", value):
        raise InvalidCommand("invalid_value", "expected an integer")
    number = int(value)
    if not low <= number <= high:
        raise InvalidCommand("out_of_range", f"expected {low}..{high}")
    return number


def mode(payload: bytes) -> str:
    value = text(payload)
    if not _MODE_TEXT.match(value):
        raise InvalidCommand("invalid_value", "expected a mode word")
    return value


def json_command(payload: bytes, extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A JSON command object: ``action``, optional ``code`` and ``transaction``, and the
    ``extra`` fields the command declares; nothing else."""
    try:
        value = load_json(payload, max_bytes=MAX_PAYLOAD)
    except PayloadError as exc:
        raise InvalidCommand(exc.reason) from None
    if not isinstance(value, dict):
        raise InvalidCommand("invalid_json", "expected a JSON object")
    unknown = set(value) - {"action", "code", "transaction"} - extra
    if unknown:
        raise InvalidCommand("unknown_field", ", ".join(sorted(unknown)))
    return value


def action(body: Mapping[str, Any], actions: tuple[str, ...]) -> str:
    chosen = body.get("action")
    if not isinstance(chosen, str) or chosen not in actions:
        raise InvalidCommand("unknown_action", ", ".join(actions))
    return chosen


def code(body: Mapping[str, Any]) -> int:
    value = body.get("code")
    if value is None or value == "" or isinstance(value, bool | float):
        raise InvalidCommand("code_required")
    try:
        return parse_pin(value)
    except ValueError as exc:
        raise InvalidCommand("invalid_code", str(exc)) from None
