"""Homie properties: how one is described and how its value is written as a payload."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from e27bridge.mqtt.setters import Setter

Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class PropertySpec:
    id: str
    name: str
    datatype: str
    value: Getter
    format: str | None = None
    settable: bool = False
    retained: bool = True
    unit: str | None = None
    urgent: bool = False  # published at once, never held back by coalescing
    setter: Setter | None = None  # how a ``/set`` becomes a command (settable ones)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "datatype": self.datatype}
        if self.format is not None:
            out["format"] = self.format
        if self.settable:
            out["settable"] = True
        if not self.retained:
            out["retained"] = False
        if self.unit is not None:
            out["unit"] = self.unit
        return out


def format_value(spec: PropertySpec, value: Any) -> bytes | None:
    """A Homie payload for ``value``, or None when the value is not known."""
    if value is None:
        return None
    match spec.datatype:
        case "boolean":
            text = "true" if value else "false"
        case "integer":
            text = str(int(value))
        case "float":
            number = float(value)
            if not math.isfinite(number):
                return None
            text = repr(number)
        case "json":
            text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        case _:
            text = str(value)
    # Homie: an empty string value is a single NUL byte (an empty payload deletes).
    return text.encode() if text else b"\x00"


def enum_format(values: tuple[str, ...]) -> str:
    return ",".join(values)


def _json_format(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), sort_keys=True)


def command_format(actions: tuple[str, ...], extra: Mapping[str, Any] | None = None) -> str:
    """The JSON schema of a ``command`` property taking an action and a code (and the
    ``extra`` fields its setter accepts)."""
    return _json_format(
        {
            "type": "object",
            "properties": {
                "action": {"enum": list(actions)},
                "code": {"type": ["string", "integer"]},
                "transaction": {},
                **(extra or {}),
            },
            "required": ["action"],
        }
    )


def command(
    actions: tuple[str, ...], setter: Setter, extra: Mapping[str, Any] | None = None
) -> PropertySpec:
    """A non-retained, settable JSON command (actions that need a code)."""
    return PropertySpec(
        "command",
        "Command",
        "json",
        lambda e: None,
        command_format(actions, extra),
        settable=True,
        retained=False,
        setter=setter,
    )


def boolean(
    name: str, label: str, setter: Setter | None = None, urgent: bool = False
) -> PropertySpec:
    """A boolean property read from the entity attribute ``name`` (``low_battery`` ->
    ``low-battery``); settable when it has a setter."""
    return PropertySpec(
        name.replace("_", "-"),
        label,
        "boolean",
        lambda e: getattr(e, name),
        settable=setter is not None,
        urgent=urgent,
        setter=setter,
    )
