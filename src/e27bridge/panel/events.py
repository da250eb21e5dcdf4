"""Edge-triggered events the engine emits; the MQTT layer consumes them independently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from e27bridge.panel.state import ConnectionState, EntityKind, PanelSnapshot


@dataclass(frozen=True, slots=True)
class EntityChanged:
    """One entity appeared (old None), changed, or disappeared (new None)."""

    panel_id: str
    kind: EntityKind
    entity_id: int
    old: Any
    new: Any
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    panel_id: str
    old: ConnectionState
    new: ConnectionState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PanelEvent:
    """Something that happened on the panel (arm/disarm, alarm, bypass, trouble, log entry)."""

    panel_id: str
    type: str  # "armed", "disarmed", "alarm", "bypass", "trouble", "log", ...
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SnapshotReplaced:
    """Sent after every batch of changes, carrying the new snapshot (after the events above)."""

    panel_id: str
    snapshot: PanelSnapshot


EngineEvent = EntityChanged | ConnectionChanged | PanelEvent | SnapshotReplaced
