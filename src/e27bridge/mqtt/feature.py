"""One MQTT feature behind one small interface (in the spirit of zigbee2mqtt's extensions).

Homie, Home Assistant discovery, the event stream, the bridge API and the command router
are each a ``Feature``: the bridge subscribes to what they name, hands every incoming
message and every engine event to each of them, and republishes through them after a
connect. Each call runs under the bridge's guard: an exception is logged with the feature
and the topic (or event) and never ends the daemon (ADR-0105). A feature keeps its own
locks and tasks; the bridge only composes.
"""

from __future__ import annotations

from collections.abc import Sequence

from e27bridge.mqtt.inbound import Inbound
from e27bridge.panel.events import EngineEvent


class Feature:
    """Defaults do nothing, so a feature overrides only what it uses."""

    name = "feature"  # in logs: the guard's ``handler``
    coalesce = False  # True: in a backlog, snapshots superseded by a newer one are skipped

    def subscriptions(self) -> Sequence[str]:
        """Topic filters this feature's messages arrive on."""
        return ()

    async def start(self) -> None:
        """Before the first connection."""

    async def republish(self) -> None:
        """After every (re)connect, in the bridge's feature order: everything retained."""

    async def handle_message(self, message: Inbound) -> bool:
        """True when the message was this feature's (no later feature sees it)."""
        return False

    async def on_engine_event(self, event: EngineEvent) -> None:
        """One engine event of one of our panels."""

    async def stop(self) -> None:
        """Clean shutdown, still connected when possible (bounded by the bridge)."""


__all__ = ["Feature"]
