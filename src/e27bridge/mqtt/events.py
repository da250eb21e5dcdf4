"""The non-retained ``<base>/<panel>/event`` stream of panel events (and HA ``event`` entity).

Payloads are JSON with an ``event_type`` Home Assistant accepts (one of ``EVENT_TYPES``);
the engine's own type is kept in ``type``. Codes never appear: only known data keys pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.hass import EVENT_TYPES
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.events import ConnectionChanged, EngineEvent, PanelEvent

_ALIASES: Mapping[str, str] = {
    "arm": "armed",
    "disarm": "disarmed",
    "alarm_clear": "alarm_cleared",
    "alarm_restored": "alarm_cleared",
    "bypassed": "bypass",
    "unbypass": "bypass",
    "log_entry": "log",
}
_SECRET_KEYS = frozenset({"code", "pin", "passcode", "access_code", "passphrase", "password"})


def event_type(raw: str) -> str:
    name = _ALIASES.get(raw, raw)
    return name if name in EVENT_TYPES else "other"


_OWN_KEYS = frozenset({"event_type", "type", "panel", "timestamp"})


def event_payload(
    panel_id: str, raw_type: str, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The event's data plus its own keys; a data key that has one of their names is kept
    under ``<type>_<key>`` (an alarm's ``type`` becomes ``alarm_type``)."""
    body = {
        (f"{raw_type}_{k}" if k in _OWN_KEYS else k): v
        for k, v in data.items()
        if k.lower() not in _SECRET_KEYS
    }
    return {
        **body,
        "event_type": event_type(raw_type),
        "type": raw_type,
        "panel": panel_id,
        "timestamp": now.isoformat(timespec="milliseconds"),
    }


class EventStream(Feature):
    """``<base>/<panel>/event``: every panel event and connection change, as it happens."""

    name = "events"
    coalesce = True  # snapshots are not read here: a backlog of them is skipped

    def __init__(
        self, topics: Topics, sink: Sink, now: Callable[[], datetime] | None = None
    ) -> None:
        self._t = topics
        self._sink = sink
        self._now = now or (lambda: datetime.now(UTC))

    async def on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, PanelEvent | ConnectionChanged):
            await self.handle(event)

    async def handle(self, event: PanelEvent | ConnectionChanged) -> None:
        """Trouble events come from the engine as ``PanelEvent``s; connection changes too."""
        match event:
            case PanelEvent(panel_id=pid, type=kind, data=data):
                await self._emit(pid, kind, data)
            case ConnectionChanged(panel_id=pid, old=old_state, new=new_state, reason=reason):
                data = {"from": old_state.value, "to": new_state.value, "reason": reason}
                await self._emit(pid, "connection", data)

    async def _emit(self, panel_id: str, kind: str, data: Mapping[str, Any]) -> None:
        payload = event_payload(panel_id, kind, data, self._now())
        text = json.dumps(payload, separators=(",", ":"), default=str)
        await self._sink.publish(self._t.panel_event(panel_id), text, retain=False)
