"""What ``e27bridge status`` shows, gathered in the running daemon for the health file.

The board follows the engine's events to remember each panel's last event (its type and
safe data, never a code) and tells the health loop when something worth showing changed,
so the file a ``status`` reader sees is seconds old, not a whole write interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from e27bridge.daemon.health import PanelStatus
from e27bridge.panel.bus import Subscription
from e27bridge.panel.events import ConnectionChanged, PanelEvent
from e27bridge.panel.owner import PanelOwner

EVENT_TEXT_MAX = 60
# Event data never shown: codes and anything like them (events carry none, but be sure).
_HIDDEN = frozenset({"code", "pin", "passcode", "user_code", "access_code", "passphrase"})


def event_text(event: PanelEvent) -> str:
    """``bypass zone=3 bypassed=True``: the type and its data, short."""
    parts = [event.type]
    parts += [f"{k}={v}" for k, v in event.data.items() if k.lower() not in _HIDDEN]
    text = " ".join(parts)
    return text if len(text) <= EVENT_TEXT_MAX else text[: EVENT_TEXT_MAX - 1] + "…"


class StatusBoard:
    """Subscribe at construction (no event is missed), ``follow()`` in a task."""

    def __init__(
        self,
        panels: Mapping[str, PanelOwner],
        subscription: Subscription,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._panels = panels
        self._sub = subscription
        self._clock = clock
        self._last: dict[str, tuple[str, float]] = {}
        self.changed = asyncio.Event()  # a connection state or a last event changed

    async def follow(self) -> None:
        async for event in self._sub:
            if isinstance(event, PanelEvent):
                self._last[event.panel_id] = (event_text(event), self._clock())
                self.changed.set()
            elif isinstance(event, ConnectionChanged):
                self.changed.set()

    def rows(self) -> dict[str, PanelStatus]:
        rows = {}
        for panel_id, owner in self._panels.items():
            snapshot = owner.snapshot
            health = owner.live_health
            text, at = self._last.get(panel_id, (None, None))
            rows[panel_id] = PanelStatus(
                mac=owner.mac,
                state=snapshot.connection.value,
                host=snapshot.info.host,
                port=snapshot.info.port,
                rtt_ms=health.rtt_ms,
                queue_depth=health.queue_depth,
                reconnects=health.reconnects,
                last_error=health.internal_error or health.last_error,
                last_event=text,
                last_event_at=at,
            )
        return rows
