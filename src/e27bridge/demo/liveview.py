"""The demo's live view: one short line per engine event a person would care about.

Bootstrap fills the snapshot with hundreds of "appeared" events; those are summarised in
one line when the panel becomes ready instead of being printed one by one. Countdown ticks,
signal strength and similar chatter are left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.panel.bus import Subscription
from e27bridge.panel.events import ConnectionChanged, EngineEvent, EntityChanged, PanelEvent
from e27bridge.panel.kinds import KINDS
from e27bridge.panel.state import ConnectionState, PanelSnapshot

Clock = Callable[[], float]
Writer = Callable[[str], None]


def summary(snapshot: PanelSnapshot) -> str:
    """``3 areas, 60 zones, ...``: what the bridge found on the panel (published kinds)."""
    parts = [
        f"{len(snapshot.entities(kind))} {KINDS[kind].label}"
        for kind in MQTT_KINDS
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
        spec = KINDS.get(event.kind)
        change = None if spec is None else spec.describe(event.old, event.new)
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
