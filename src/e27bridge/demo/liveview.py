"""The demo's live view: one short line per engine event a person would care about.

Bootstrap fills the snapshot with hundreds of "appeared" events; those are summarised in
one line when the panel becomes ready instead of being printed one by one. Countdown ticks,
signal strength and similar chatter are left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from e27bridge.panel.bus import Subscription
from e27bridge.panel.events import ConnectionChanged, EngineEvent, EntityChanged, PanelEvent
from e27bridge.panel.state import (
    Area,
    Barrier,
    ConnectionState,
    EntityKind,
    Light,
    Lock,
    Output,
    PanelSnapshot,
    Thermostat,
    Zone,
)

Clock = Callable[[], float]
Writer = Callable[[str], None]

# Zone flags worth a line, with the words for set / cleared.
_ZONE_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("violated", "open", "closed"),
    ("bypassed", "bypassed", "unbypassed"),
    ("trouble", "trouble", "trouble cleared"),
    ("tamper", "tamper", "tamper cleared"),
    ("alarm", "ALARM", "alarm cleared"),
    ("low_battery", "low battery", "battery ok"),
)
_TSTAT_FIELDS = ("temperature", "mode", "fan_mode", "heat_setpoint", "cool_setpoint")
_SUMMARY_KINDS = (
    (EntityKind.AREA, "areas"),
    (EntityKind.ZONE, "zones"),
    (EntityKind.OUTPUT, "outputs"),
    (EntityKind.LIGHT, "lights"),
    (EntityKind.LOCK, "locks"),
    (EntityKind.TSTAT, "thermostats"),
    (EntityKind.BARRIER, "barriers"),
    (EntityKind.KEYPAD, "keypads"),
)


def summary(snapshot: PanelSnapshot) -> str:
    """``3 areas, 60 zones, ...``: what the bridge found on the panel."""
    parts = [
        f"{len(snapshot.entities(kind))} {label}"
        for kind, label in _SUMMARY_KINDS
        if snapshot.entities(kind)
    ]
    return ", ".join(parts) or "no entities"


def describe(event: EngineEvent, snapshot: PanelSnapshot | None = None) -> str | None:
    """The live-view text for ``event`` (without time stamp), or None to stay silent."""
    if isinstance(event, ConnectionChanged):
        text = f"{event.panel_id}  connection {event.old.value} -> {event.new.value}"
        if event.new is ConnectionState.READY and snapshot is not None:
            text += f" ({summary(snapshot)})"
        elif event.reason and event.new is not ConnectionState.STOPPED:
            text += f" ({event.reason})"
        return text
    if isinstance(event, EntityChanged):
        if event.old is None or event.new is None:
            return None  # bootstrap and removals: summarised on READY
        change = _entity_change(event.old, event.new)
        if change is None:
            return None
        label = f"{event.kind.value}-{event.entity_id}"
        return f"{event.panel_id}  {label:<10} {_name(event.new):<22} {change}"
    if isinstance(event, PanelEvent):
        return _panel_event(event)
    return None


def _name(entity: Any) -> str:
    name = str(getattr(entity, "name", "") or "")
    return name if len(name) <= 22 else name[:21] + "…"


def _entity_change(old: Any, new: Any) -> str | None:
    match old, new:
        case Area(), Area():
            return _area_change(old, new)
        case Zone(), Zone():
            words = [
                on if getattr(new, attr) else off
                for attr, on, off in _ZONE_FLAGS
                if getattr(old, attr) is not None and getattr(old, attr) != getattr(new, attr)
            ]
            return ", ".join(words) or None
        case Output(), Output():
            return _switch(old.on, new.on, "on", "off")
        case Light(), Light():
            if old.level == new.level or new.level is None:
                return None
            return "off" if new.level == 0 else f"on, level {new.level}"
        case Lock(), Lock():
            return _switch(old.locked, new.locked, "locked", "unlocked")
        case Thermostat(), Thermostat():
            changed = [
                f"{attr.replace('_', ' ')} {getattr(new, attr)}"
                for attr in _TSTAT_FIELDS
                if getattr(old, attr) != getattr(new, attr) and getattr(new, attr) is not None
            ]
            return ", ".join(changed) or None
        case Barrier(), Barrier():
            return new.position.value if old.position != new.position else None
    return None


def _switch(old: bool | None, new: bool | None, on: str, off: str) -> str | None:
    if old == new or new is None:
        return None
    return on if new else off


def _area_change(old: Area, new: Area) -> str | None:
    if old.phase == new.phase or new.phase is None:
        return None
    text = new.phase.value
    if new.ee_timer > 0:
        text += f" ({new.ee_timer} s)"
    if new.alarm_active and new.alarm_zone:
        text += f", zone {new.alarm_zone}"
    return text


def _panel_event(event: PanelEvent) -> str | None:
    data = event.data
    if event.type == "alarm":
        zone = f" zone {data['zone']}" if data.get("zone") else ""
        kind = f" ({data['type']})" if data.get("type") else ""
        return f"{event.panel_id}  ALARM in area-{data.get('area')}{zone}{kind}"
    if event.type == "trouble":
        state = "active" if data.get("active") else "cleared"
        return f"{event.panel_id}  trouble {data.get('trouble')!r} {state}"
    return None  # arm/disarm and bypass show as entity changes; log entries are chatter


async def follow(
    subscription: Subscription,
    write: Writer,
    snapshots: Callable[[str], PanelSnapshot | None],
    clock: Clock = time.time,
) -> None:
    """Print events until the bus closes."""
    async for event in subscription:
        snapshot = snapshots(event.panel_id) if isinstance(event, ConnectionChanged) else None
        text = describe(event, snapshot)
        if text is not None:
            write(f"{time.strftime('%H:%M:%S', time.localtime(clock()))}  {text}")
