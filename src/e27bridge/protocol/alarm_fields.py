"""The area status fields about alarms: ``alarm_zone``, and ``alarms`` and ``alarm_mem``,
whose format no document gives.

Protocol §13.2/§20 item 8: real firmware sends both, maybe without ``alarm_state``. Any
JSON form is read liberally (ADR-0016): a list or object names the alarm kinds, a boolean,
number or yes/no word only says whether there is one, any other word names one kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# Words that mean "no alarm" (upper case, spaces and hyphens as underscores).
NONE_WORDS = frozenset(
    {"", "0", "NONE", "NO", "FALSE", "OFF", "NULL", "NORMAL", "CLEAR", "CLEARED", "N/A"}
    | {"NO_ALARM", "NO_ALARMS", "NO_ALARM_ACTIVE", "NOT_ACTIVE", "INACTIVE"}
)
YES_WORDS = frozenset({"TRUE", "ON", "YES", "ACTIVE", "ALARM"})
# Keys of an object item that name its kind: ``[{"type": "FIRE", "zone": 3}]``.
KIND_KEYS = ("alarm_type", "type", "kind", "alarm", "name")


@dataclass(frozen=True, slots=True)
class AlarmField:
    """What one of the fields said: whether any alarm is in it, and which kinds when the
    panel named them (``None``: it gave only a yes/no)."""

    any: bool
    kinds: tuple[str, ...] | None = None


def _word(text: str) -> str:
    return text.strip().upper().replace(" ", "_").replace("-", "_")


def _number(value: float) -> AlarmField | None:
    return AlarmField(value != 0) if math.isfinite(value) else None


def _text(text: str) -> AlarmField:
    word = _word(text)
    digits = text.strip().removeprefix("-")
    if digits.isascii() and digits.isdecimal():
        return AlarmField(digits.strip("0") != "")  # a count or a bit mask: no kinds
    if word in NONE_WORDS:
        return AlarmField(False, ())
    if word in YES_WORDS:
        return AlarmField(True)
    return AlarmField(True, (text.strip(),))


def _kind(item: Any) -> str | None:
    """The kind an item of a list names; ``None`` for an item that means "no alarm"."""
    if isinstance(item, dict):
        named = next((item[k] for k in KIND_KEYS if isinstance(item.get(k), str)), None)
        return _kind(named) if named is not None else ("ALARM" if item else None)
    if isinstance(item, bool):
        return "ALARM" if item else None
    if isinstance(item, int | float):
        return str(item) if item else None
    if isinstance(item, str):
        return None if _word(item) in NONE_WORDS else item.strip()
    return None


def _kinds(kinds: list[str | None]) -> AlarmField:
    named = tuple(dict.fromkeys(k for k in kinds if k is not None))  # in order, once
    return AlarmField(bool(named), named)


def parse_alarm_field(value: Any) -> AlarmField | None:
    """``None`` when the field is absent or null (a partial update says nothing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return AlarmField(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return _kinds([_kind(item) for item in value])
    if isinstance(value, dict):  # {"FIRE": true, "BURGLAR": false}
        return _kinds([str(k) if _kind(v) is not None else None for k, v in value.items()])
    return None


def kinds_text(field: AlarmField | None) -> str | None:
    """The kinds as one string for ``alarm-type`` (``FIRE,BURGLAR``); ``None`` unnamed."""
    return ",".join(field.kinds) if field is not None and field.kinds else None


def parse_alarm_zone(value: Any) -> str | None:
    """The zone as text, ``""`` for none (some firmware may send 0)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return "" if value == 0 else str(value)
    return value if isinstance(value, str) else None
