"""Immutable snapshot of one panel's state, and which fields changed between two entities.

The engine replaces the snapshot as a whole; consumers (the MQTT layer) compare old and new
values from ``EntityChanged`` events (``panel/events.py``) and never mutate anything.
Entities are stored by kind; the entity types are declared in ``panel/kinds``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from e27bridge.panel.kinds import EntityKind
from e27bridge.panel.kinds.area import SETTABLE_ARM_MODES, AlarmPhase, Area, ArmMode
from e27bridge.panel.kinds.barrier import Barrier, BarrierPosition
from e27bridge.panel.kinds.keypad import Keypad
from e27bridge.panel.kinds.light import Light
from e27bridge.panel.kinds.lock import Lock
from e27bridge.panel.kinds.output import Output
from e27bridge.panel.kinds.tstat import Thermostat
from e27bridge.panel.kinds.zone import Zone
from e27bridge.protocol.models import SETPOINT_RANGE

__all__ = [
    "AlarmPhase",
    "Area",
    "ArmMode",
    "Barrier",
    "BarrierPosition",
    "Capabilities",
    "ConnectionState",
    "EntityKind",
    "Keypad",
    "Light",
    "LinkHealth",
    "Lock",
    "Output",
    "PanelInfo",
    "PanelSnapshot",
    "Thermostat",
    "Zone",
    "changed_fields",
]


class ConnectionState(enum.Enum):
    """Lifecycle of a panel as the bridge sees it (mirrors Homie ``$state``)."""

    CONNECTING = "connecting"  # no session yet, or bootstrapping
    READY = "ready"  # session active, inventory known, status read
    DISCONNECTED = "disconnected"  # session lost; reconnecting
    LINK_REQUIRED = "link_required"  # panel rejected the link keys; run `e27bridge link`
    STOPPED = "stopped"


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


_NONE: Mapping[int, Any] = MappingProxyType({})


def _empty() -> Mapping[EntityKind, Mapping[int, Any]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the panel accepts, as the engine knows it; MQTT advertises only this (ADR-0009).

    Which kinds exist comes from the inventory (``entity_sets``), not from here.
    """

    arm_modes: tuple[ArmMode, ...] = SETTABLE_ARM_MODES
    setpoint_range: tuple[int, int] = SETPOINT_RANGE  # whole degrees a thermostat takes


@dataclass(frozen=True, slots=True)
class PanelSnapshot:
    panel_id: str
    info: PanelInfo
    connection: ConnectionState = ConnectionState.CONNECTING
    entity_sets: Mapping[EntityKind, Mapping[int, Any]] = field(default_factory=_empty)
    troubles: tuple[str, ...] = ()
    health: LinkHealth = field(default_factory=LinkHealth)
    capabilities: Capabilities = field(default_factory=Capabilities)

    def entities(self, kind: EntityKind) -> Mapping[int, Any]:
        return self.entity_sets.get(kind, _NONE)

    def with_entities(self, kind: EntityKind, entities: Mapping[int, Any]) -> PanelSnapshot:
        sets = dict(self.entity_sets)
        sets[kind] = MappingProxyType(dict(entities))
        return replace(self, entity_sets=MappingProxyType(sets))

    # Typed views of the built-in kinds.
    @property
    def areas(self) -> Mapping[int, Area]:
        return self.entities(EntityKind.AREA)

    @property
    def zones(self) -> Mapping[int, Zone]:
        return self.entities(EntityKind.ZONE)

    @property
    def outputs(self) -> Mapping[int, Output]:
        return self.entities(EntityKind.OUTPUT)

    @property
    def lights(self) -> Mapping[int, Light]:
        return self.entities(EntityKind.LIGHT)

    @property
    def locks(self) -> Mapping[int, Lock]:
        return self.entities(EntityKind.LOCK)

    @property
    def tstats(self) -> Mapping[int, Thermostat]:
        return self.entities(EntityKind.TSTAT)

    @property
    def barriers(self) -> Mapping[int, Barrier]:
        return self.entities(EntityKind.BARRIER)

    @property
    def keypads(self) -> Mapping[int, Keypad]:
        return self.entities(EntityKind.KEYPAD)


def changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    """Names of dataclass fields whose values differ (all fields when one side is None)."""
    source = new if new is not None else old
    names = tuple(f.name for f in fields(source))
    if old is None or new is None:
        return names
    return tuple(name for name in names if getattr(old, name) != getattr(new, name))
