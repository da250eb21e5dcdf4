"""The Homie node/property model of a panel: which properties exist and how values read.

Homie is the canonical tree (contract): Home Assistant discovery points at these topics and
``/set`` commands arrive on them, so this is the single list of properties.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from e27bridge.mqtt.topics import SYSTEM_NODE, node_id
from e27bridge.panel.state import (
    AlarmPhase,
    Area,
    ArmMode,
    Barrier,
    BarrierPosition,
    ConnectionState,
    EntityKind,
    Keypad,
    Light,
    Lock,
    Output,
    PanelSnapshot,
    Thermostat,
    Zone,
)

Getter = Callable[[Any], Any]

TEMPERATURE_UNIT = "°F"  # the panel's unit; the vendor's examples are Fahrenheit (inferred)
SETPOINT_FORMAT = "-40:150:1"  # the engine refuses anything else (panel/commands.py)

# Area command actions, by the panel arm mode they need (disarm is always there).
ARM_ACTIONS: Mapping[ArmMode, str] = {
    ArmMode.ARMED_AWAY: "arm_away",
    ArmMode.ARMED_STAY: "arm_home",
}
BARRIER_ACTIONS = ("open", "close", "stop")
ZONE_ACTIONS = ("bypass", "unbypass")


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


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    name: str
    type: str
    kind: EntityKind | None  # None for the panel-wide ``system`` node
    number: int
    source: Any  # the entity (or the snapshot for ``system``)
    properties: tuple[PropertySpec, ...]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "properties": {p.id: p.describe() for p in self.properties},
        }

    def property(self, prop_id: str) -> PropertySpec | None:
        return next((p for p in self.properties if p.id == prop_id), None)


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


def _enum(values: tuple[str, ...]) -> str:
    return ",".join(values)


def _json_format(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), sort_keys=True)


def _command_format(actions: tuple[str, ...]) -> str:
    return _json_format(
        {
            "type": "object",
            "properties": {
                "action": {"enum": list(actions)},
                "code": {"type": ["string", "integer"]},
                "transaction": {},
            },
            "required": ["action"],
        }
    )


def _b(name: str, label: str, settable: bool = False) -> PropertySpec:
    return PropertySpec(
        name.replace("_", "-"), label, "boolean", lambda e: getattr(e, name), settable=settable
    )


PHASES = tuple(p.value for p in AlarmPhase)
ARM_MODES = tuple(m.value for m in ArmMode)
POSITIONS = tuple(p.value for p in BarrierPosition)
CONNECTION_STATES = tuple(s.value for s in ConnectionState)


def area_actions(arm_modes: tuple[ArmMode, ...]) -> tuple[str, ...]:
    return (*(ARM_ACTIONS[m] for m in arm_modes if m in ARM_ACTIONS), "disarm")


def _area(arm_modes: tuple[ArmMode, ...]) -> tuple[PropertySpec, ...]:
    return (
        PropertySpec(
            "state", "Alarm state", "enum", lambda a: a.phase and a.phase.value, _enum(PHASES)
        ),
        PropertySpec(
            "arm-mode",
            "Arm mode",
            "enum",
            lambda a: a.arm_state and a.arm_state.value,
            _enum(ARM_MODES),
        ),
        _b("ready", "Ready to arm"),
        PropertySpec("alarm", "Alarm", "boolean", lambda a: a.alarm_active),
        PropertySpec("alarm-type", "Alarm type", "string", lambda a: a.alarm_type or ""),
        PropertySpec("alarm-zone", "Alarm zone", "string", lambda a: a.alarm_zone),
        PropertySpec("delay", "Entry/exit delay", "integer", lambda a: a.ee_timer, "0:", unit="s"),
        _b("chime", "Chime", settable=True),
        PropertySpec(
            "bypassed-zones", "Bypassed zones", "integer", lambda a: a.zones_bypassed, unit="#"
        ),
        PropertySpec("troubles", "Troubles", "json", lambda a: list(a.troubles)),
        PropertySpec(
            "command",
            "Command",
            "json",
            lambda a: None,
            _command_format(area_actions(arm_modes)),
            settable=True,
            retained=False,
        ),
    )


ZONE_PROPERTIES = (
    PropertySpec("open", "Open", "boolean", lambda z: z.violated),
    _b("bypassed", "Bypassed", settable=True),
    _b("trouble", "Trouble"),
    _b("tamper", "Tamper"),
    _b("alarm", "Alarm"),
    _b("low_battery", "Low battery"),
    _b("enabled", "Enabled"),
    PropertySpec("definition", "Definition", "string", lambda z: z.definition),
    PropertySpec("area", "Area", "integer", lambda z: z.area_id),
    PropertySpec("rssi", "Signal strength", "integer", lambda z: z.rssi),
    PropertySpec(
        "command",
        "Command",
        "json",
        lambda z: None,
        _command_format(ZONE_ACTIONS),
        settable=True,
        retained=False,
    ),
)
OUTPUT_PROPERTIES = (PropertySpec("on", "On", "boolean", lambda o: o.on, settable=True),)
LIGHT_PROPERTIES = (
    PropertySpec("on", "On", "boolean", lambda li: li.on, settable=True),
    PropertySpec("level", "Level", "integer", lambda li: li.level, "0:99", True, unit="%"),
)
LOCK_PROPERTIES = (_b("locked", "Locked", settable=True),)
TSTAT_PROPERTIES = (
    PropertySpec(
        "temperature", "Temperature", "float", lambda t: t.temperature, unit=TEMPERATURE_UNIT
    ),
    PropertySpec("humidity", "Humidity", "float", lambda t: t.humidity, "0:100", unit="%"),
    PropertySpec("mode", "Mode", "string", lambda t: t.mode, settable=True),
    PropertySpec("fan-mode", "Fan mode", "string", lambda t: t.fan_mode, settable=True),
    PropertySpec(
        "heat-setpoint",
        "Heat setpoint",
        "integer",
        lambda t: t.heat_setpoint,
        SETPOINT_FORMAT,
        True,
        unit=TEMPERATURE_UNIT,
    ),
    PropertySpec(
        "cool-setpoint",
        "Cool setpoint",
        "integer",
        lambda t: t.cool_setpoint,
        SETPOINT_FORMAT,
        True,
        unit=TEMPERATURE_UNIT,
    ),
    PropertySpec("battery", "Battery", "integer", lambda t: t.battery, "0:100", unit="%"),
)
BARRIER_PROPERTIES = (
    PropertySpec("position", "Position", "enum", lambda b: b.position.value, _enum(POSITIONS)),
    PropertySpec(
        "command",
        "Command",
        "enum",
        lambda b: None,
        _enum(BARRIER_ACTIONS),
        settable=True,
        retained=False,
    ),
    _b("tamper", "Tamper"),
    _b("low_battery", "Low battery"),
)
KEYPAD_PROPERTIES = (PropertySpec("area", "Area", "integer", lambda k: k.area_id),)
SYSTEM_PROPERTIES = (
    PropertySpec(
        "connection",
        "Connection",
        "enum",
        lambda s: s.connection.value,
        _enum(CONNECTION_STATES),
    ),
    PropertySpec("troubles", "Troubles", "json", lambda s: list(s.troubles)),
    PropertySpec("rtt", "Round-trip time", "float", lambda s: s.health.rtt_ms, "0:", unit="ms"),
    PropertySpec(
        "queue-depth", "Queue depth", "integer", lambda s: s.health.queue_depth, "0:", unit="#"
    ),
    PropertySpec(
        "reconnects", "Reconnects", "integer", lambda s: s.health.reconnects, "0:", unit="#"
    ),
    PropertySpec("last-error", "Last error", "string", lambda s: s.health.last_error or ""),
    PropertySpec("model", "Model", "string", lambda s: s.info.model),
    PropertySpec("firmware", "Firmware", "string", lambda s: s.info.firmware),
    PropertySpec("serial", "Serial number", "string", lambda s: s.info.serial),
)

_STATIC: Mapping[EntityKind, tuple[PropertySpec, ...]] = {
    EntityKind.ZONE: ZONE_PROPERTIES,
    EntityKind.OUTPUT: OUTPUT_PROPERTIES,
    EntityKind.LIGHT: LIGHT_PROPERTIES,
    EntityKind.LOCK: LOCK_PROPERTIES,
    EntityKind.TSTAT: TSTAT_PROPERTIES,
    EntityKind.BARRIER: BARRIER_PROPERTIES,
    EntityKind.KEYPAD: KEYPAD_PROPERTIES,
}

# Entity kinds that become Homie nodes, in publication order (users do not).
NODE_KINDS = (
    EntityKind.AREA,
    EntityKind.ZONE,
    EntityKind.OUTPUT,
    EntityKind.LIGHT,
    EntityKind.LOCK,
    EntityKind.TSTAT,
    EntityKind.BARRIER,
    EntityKind.KEYPAD,
)

_ENTITY_TYPES = (Area, Zone, Output, Light, Lock, Thermostat, Barrier, Keypad)


def panel_nodes(snapshot: PanelSnapshot, arm_modes: tuple[ArmMode, ...]) -> dict[str, Node]:
    """Every node of one panel, keyed by node id (``system`` first)."""
    nodes = {
        SYSTEM_NODE: Node(SYSTEM_NODE, "System", "e27-system", None, 0, snapshot, SYSTEM_PROPERTIES)
    }
    area_props = _area(arm_modes)
    for kind in NODE_KINDS:
        for number in sorted(snapshot.entities(kind)):
            entity = snapshot.entities(kind)[number]
            assert isinstance(entity, _ENTITY_TYPES)
            props = area_props if kind is EntityKind.AREA else _STATIC[kind]
            nid = node_id(kind, number)
            name = entity.name or nid
            nodes[nid] = Node(nid, name, f"e27-{kind.value}", kind, number, entity, props)
    return nodes
