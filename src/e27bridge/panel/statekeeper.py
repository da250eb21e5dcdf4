"""The one writer of a panel's snapshot: folds messages, installs fresh reads, publishes.

Every change goes through here, so the order on the bus is always the same: the edge events
of a change, then ``SnapshotReplaced`` with the snapshot they lead to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import structlog

from e27bridge.panel.bus import EventBus
from e27bridge.panel.eventlog import announces_entry
from e27bridge.panel.events import ConnectionChanged, PanelEvent, SnapshotReplaced
from e27bridge.panel.kinds import KINDS
from e27bridge.panel.reducer import Reduction, apply_message
from e27bridge.panel.state import ConnectionState, PanelSnapshot
from e27bridge.protocol.discovery import PanelAnnouncement
from e27bridge.protocol.errors import MalformedMessage
from e27bridge.protocol.messages import Inbound, MessageKind
from e27bridge.protocol.models import LogEntry

log = structlog.get_logger("e27bridge.panel")
_ANNOUNCE = ("log", "get_index")  # a new log entry, if the panel says so (ADR-0206)


class StateKeeper:
    def __init__(
        self, snapshot: PanelSnapshot, bus: EventBus, on_happened: Callable[[], None]
    ) -> None:
        self.snapshot = snapshot
        self._bus = bus
        self._on_happened = on_happened  # a change the panel logs: read the event log

    @property
    def panel_id(self) -> str:
        return self.snapshot.panel_id

    async def wait_for(self, state: ConnectionState, timeout: float) -> None:
        """Return once the connection is ``state``; TimeoutError after ``timeout`` seconds."""
        with self._bus.subscribe() as sub:
            async with asyncio.timeout(timeout):
                while self.snapshot.connection is not state:
                    await sub.get()

    def fold(self, message: Inbound) -> bool:
        """Fold one message of a ready session; True when the zones should be re-read."""
        if message.kind is MessageKind.BROADCAST and (message.domain, message.command) == _ANNOUNCE:
            self._on_happened()  # the panel announces a new entry (ADR-0206)
            return False
        reduction = Reduction(self.snapshot)
        try:
            apply_message(reduction, message)
        except MalformedMessage as exc:
            log.warning("message_malformed", panel=self.panel_id, error=str(exc))
            return False
        self.commit(reduction)
        # An area broadcast that changed nothing, or a troubles reply: a zone update may
        # have been missed.
        return (
            message.kind is MessageKind.BROADCAST
            and message.domain == "area"
            and not reduction.events
        ) or (message.domain == "area" and message.command in ("get_troubles", "get_trouble"))

    def install(self, fresh: PanelSnapshot) -> None:
        """A full read after (re)connect replaces every entity; differences become events."""
        reduction = Reduction(self.snapshot)
        reduction.snapshot = replace(
            reduction.snapshot, info=fresh.info, capabilities=fresh.capabilities
        )
        for kind in KINDS:
            entities = fresh.entities(kind)
            for entity in entities.values():
                reduction.put(kind, entity)
            reduction.remove_missing(kind, set(entities))
        reduction.set_troubles(fresh.troubles)
        self.commit(reduction)

    def commit(self, reduction: Reduction) -> None:
        if not reduction.events and reduction.snapshot is self.snapshot:
            return
        self.snapshot = reduction.snapshot
        for event in reduction.events:
            self._bus.publish(event)
        if any(announces_entry(e) for e in reduction.events):
            self._on_happened()
        self._publish_snapshot()

    def set_connection(self, state: ConnectionState, reason: str | None) -> None:
        old = self.snapshot.connection
        if old is state:
            return
        self.snapshot = replace(self.snapshot, connection=state)
        self._bus.publish(ConnectionChanged(self.panel_id, old, state, reason))
        self._publish_snapshot()

    def update_info(self, **changes: Any) -> None:
        """Where the panel is and what it calls itself (no event: part of the next batch)."""
        self.snapshot = replace(self.snapshot, info=replace(self.snapshot.info, **changes))

    def found(self, found: PanelAnnouncement) -> None:
        """Our panel answered discovery: keep its name, serial and address."""
        info = self.snapshot.info
        self.update_info(
            name=found.name or info.name,
            serial=found.serial or info.serial,
            host=found.host,
            port=found.port,
        )

    def update_health(self, **changes: Any) -> None:
        health = replace(self.snapshot.health, **changes)
        if health != self.snapshot.health:
            self.snapshot = replace(self.snapshot, health=health)
            self._publish_snapshot()

    def event(self, type_: str, data: dict[str, Any]) -> None:
        self._bus.publish(PanelEvent(self.panel_id, type_, data))

    def log_entry(self, entry: LogEntry) -> None:
        data: dict[str, Any] = {"id": entry.log_id, "time": entry.time, "text": entry.text}
        if entry.user is not None:
            data["user"] = entry.user
        self.event("log", data)

    def _publish_snapshot(self) -> None:
        self._bus.publish(SnapshotReplaced(self.panel_id, self.snapshot))
