"""Immutable snapshot of one panel's state, and the change events derived from it.

The engine replaces the snapshot as a whole; consumers (the MQTT layer) compare old and new
values from ``EntityChanged`` events and never mutate anything.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any


class ConnectionState(enum.Enum):
    """Lifecycle of a panel as the bridge sees it (mirrors Homie ``$state``)."""

    CONNECTING = "connecting"  # no session yet, or bootstrapping
    READY = "ready"  # session active, inventory known, status read
    DISCONNECTED = "disconnected"  # session lost; reconnecting
    LINK_REQUIRED = "link_required"  # panel rejected the link keys; run `e27bridge link`
    STOPPED = "stopped"


class ArmMode(enum.Enum):
    DISARMED = "disarmed"
    ARMED_AWAY = "armed_away"
    ARMED_STAY = "armed_stay"

    @property
    def panel_value(self) -> str:
        return self.name


class AlarmPhase(enum.Enum):
    """What an area is doing, in the vocabulary of Home Assistant's alarm panel."""

    DISARMED = "disarmed"
    ARMING = "arming"  # exit delay running
    ARMED_AWAY = "armed_away"
    ARMED_HOME = "armed_home"
    PENDING = "pending"  # entry delay running
    TRIGGERED = "triggered"


class BarrierPosition(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    OPENING = "opening"
    CLOSING = "closing"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Area:
    id: int
    name: str
    arm_state: ArmMode | None = None
    arm_cmd_state: ArmMode | None = None  # target of a pending arm (exit delay)
    ready: bool | None = None
    ready_status: str | None = None
    ee_timer: int = 0
    alarm_zone: str = ""
    alarm_active: bool = False
    alarm_type: str | None = None
    chime: bool | None = None
    zones_bypassed: int = 0
    troubles: tuple[str, ...] = ()

    @property
    def phase(self) -> AlarmPhase | None:
        if self.arm_state is None:
            return None
        if self.alarm_active:
            return AlarmPhase.TRIGGERED
        if self.arm_state is ArmMode.DISARMED:
            pending = self.arm_cmd_state not in (None, ArmMode.DISARMED)
            return AlarmPhase.ARMING if pending and self.ee_timer > 0 else AlarmPhase.DISARMED
        if self.ee_timer > 0 and self.alarm_zone:
            return AlarmPhase.PENDING
        return (
            AlarmPhase.ARMED_AWAY if self.arm_state is ArmMode.ARMED_AWAY else AlarmPhase.ARMED_HOME
        )


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    name: str
    area_id: int | None = None
    definition: str | None = None
    status_code: str | None = None  # raw bulk status character
    enabled: bool | None = None
    violated: bool | None = None
    trouble: bool = False
    tamper: bool = False
    alarm: bool = False
    bypassed: bool | None = None
    low_battery: bool = False
    rssi: int | None = None


@dataclass(frozen=True, slots=True)
class Output:
    id: int
    name: str
    on: bool | None = None


@dataclass(frozen=True, slots=True)
class Light:
    id: int
    name: str
    area_id: int | None = None
    level: int | None = None  # 0-99 (0 = off)

    @property
    def on(self) -> bool | None:
        return None if self.level is None else self.level > 0


@dataclass(frozen=True, slots=True)
class Lock:
    id: int
    name: str
    area_id: int | None = None
    locked: bool | None = None


@dataclass(frozen=True, slots=True)
class Thermostat:
    id: int
    name: str
    temperature: float | None = None
    humidity: float | None = None
    mode: str | None = None
    fan_mode: str | None = None
    heat_setpoint: float | None = None
    cool_setpoint: float | None = None
    battery: int | None = None


@dataclass(frozen=True, slots=True)
class Barrier:
    id: int
    name: str
    area_id: int | None = None
    position: BarrierPosition = BarrierPosition.UNKNOWN
    tamper: bool = False
    low_battery: bool = False


@dataclass(frozen=True, slots=True)
class Keypad:
    id: int
    name: str
    area_id: int | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class PanelInfo:
    mac: str
    name: str = ""
    serial: str | None = None
    model: str | None = None
    firmware: str | None = None
    host: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """Diagnostics of the session, published as diagnostic entities."""

    rtt_ms: float | None = None
    queue_depth: int = 0
    reconnects: int = 0
    last_error: str | None = None
    internal_error: str | None = None  # a bug in the bridge, never the panel's fault


class EntityKind(enum.Enum):
    AREA = "area"
    ZONE = "zone"
    OUTPUT = "output"
    LIGHT = "light"
    LOCK = "lock"
    TSTAT = "tstat"
    BARRIER = "barrier"
    KEYPAD = "keypad"
    USER = "user"


def _empty() -> Mapping[int, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the panel has; the MQTT layer only advertises what is here."""

    arm_modes: tuple[ArmMode, ...] = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)
    kinds: frozenset[EntityKind] = frozenset()


@dataclass(frozen=True, slots=True)
class PanelSnapshot:
    panel_id: str
    info: PanelInfo
    connection: ConnectionState = ConnectionState.CONNECTING
    areas: Mapping[int, Area] = field(default_factory=_empty)
    zones: Mapping[int, Zone] = field(default_factory=_empty)
    outputs: Mapping[int, Output] = field(default_factory=_empty)
    lights: Mapping[int, Light] = field(default_factory=_empty)
    locks: Mapping[int, Lock] = field(default_factory=_empty)
    tstats: Mapping[int, Thermostat] = field(default_factory=_empty)
    barriers: Mapping[int, Barrier] = field(default_factory=_empty)
    keypads: Mapping[int, Keypad] = field(default_factory=_empty)
    users: Mapping[int, User] = field(default_factory=_empty)
    troubles: tuple[str, ...] = ()
    health: LinkHealth = field(default_factory=LinkHealth)

    def entities(self, kind: EntityKind) -> Mapping[int, Any]:
        mapping: Mapping[int, Any] = getattr(self, _COLLECTIONS[kind])
        return mapping

    def with_entities(self, kind: EntityKind, entities: Mapping[int, Any]) -> PanelSnapshot:
        changes: dict[str, Any] = {_COLLECTIONS[kind]: MappingProxyType(dict(entities))}
        return replace(self, **changes)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(kinds=frozenset(k for k in EntityKind if self.entities(k)))


_COLLECTIONS: Mapping[EntityKind, str] = MappingProxyType(
    {
        EntityKind.AREA: "areas",
        EntityKind.ZONE: "zones",
        EntityKind.OUTPUT: "outputs",
        EntityKind.LIGHT: "lights",
        EntityKind.LOCK: "locks",
        EntityKind.TSTAT: "tstats",
        EntityKind.BARRIER: "barriers",
        EntityKind.KEYPAD: "keypads",
        EntityKind.USER: "users",
    }
)


def changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    """Names of dataclass fields whose values differ (all fields when one side is None)."""
    source = new if new is not None else old
    names = tuple(f.name for f in fields(source))
    if old is None or new is None:
        return names
    return tuple(name for name in names if getattr(old, name) != getattr(new, name))
