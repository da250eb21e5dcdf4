"""A tiny ``PanelHandle``/``PanelDirectory`` over a real ``EventBus`` (MQTT-layer tests only).

It applies accepted commands to its snapshot the way a panel would report them, so tests
see the real value arrive after ``$target``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from e27bridge.panel.bus import EventBus, Subscription
from e27bridge.panel.commands import (
    ArmArea,
    Command,
    CommandResult,
    Outcome,
    Refresh,
    SetLight,
    SetLock,
    SetOutput,
)
from e27bridge.panel.events import ConnectionChanged, PanelEvent, SnapshotReplaced
from e27bridge.panel.state import ConnectionState, EntityKind, PanelSnapshot


class FakePanel:
    def __init__(self, snapshot: PanelSnapshot, bus: EventBus) -> None:
        self._snapshot = snapshot
        self._bus = bus
        self.submitted: list[Command] = []
        self.refreshes: list[tuple[EntityKind | None, int | None]] = []
        self.next_result: CommandResult | None = None
        self.valid_code = 1234

    @property
    def panel_id(self) -> str:
        return self._snapshot.panel_id

    @property
    def mac(self) -> str:
        return self._snapshot.info.mac

    @property
    def snapshot(self) -> PanelSnapshot:
        return self._snapshot

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()

    async def submit(self, command: Command) -> CommandResult:
        self.submitted.append(command)
        if isinstance(command, Refresh):
            self.refreshes.append((command.kind, command.entity_id))
        if self.next_result is not None:
            result, self.next_result = self.next_result, None
            return result
        if isinstance(command, ArmArea) and command.code != self.valid_code:
            return CommandResult(Outcome.REJECTED, code=11008, reason="authorization required")
        if isinstance(command, Refresh):
            return CommandResult(Outcome.OK, data={"reads": 1})
        self._apply(command)
        return CommandResult(Outcome.OK)

    def update(self, snapshot: PanelSnapshot) -> None:
        """The engine's side: replace the snapshot and tell everyone."""
        old = self._snapshot
        self._snapshot = snapshot
        if old.connection is not snapshot.connection:
            self._bus.publish(ConnectionChanged(self.panel_id, old.connection, snapshot.connection))
        self._bus.publish(SnapshotReplaced(self.panel_id, snapshot))

    def event(self, kind: str, **data: Any) -> None:
        self._bus.publish(PanelEvent(self.panel_id, kind, data))

    def set_connection(self, state: ConnectionState) -> None:
        self.update(replace(self._snapshot, connection=state))

    def _apply(self, command: Command) -> None:
        snap = self._snapshot
        match command:
            case SetOutput(output_id=n, on=on):
                entities = dict(snap.outputs)
                entities[n] = replace(entities[n], on=on)
                self.update(snap.with_entities(EntityKind.OUTPUT, entities))
            case SetLight(light_id=n, level=level):
                lights = dict(snap.lights)
                lights[n] = replace(lights[n], level=level)
                self.update(snap.with_entities(EntityKind.LIGHT, lights))
            case SetLock(lock_id=n, locked=locked):
                locks = dict(snap.locks)
                locks[n] = replace(locks[n], locked=locked)
                self.update(snap.with_entities(EntityKind.LOCK, locks))
            case ArmArea(area_id=n, mode=mode):
                areas = dict(snap.areas)
                areas[n] = replace(areas[n], arm_state=mode)
                self.update(snap.with_entities(EntityKind.AREA, areas))
            case _:
                pass


class FakeDirectory:
    def __init__(self, panels: list[FakePanel], bus: EventBus) -> None:
        self._panels = {p.panel_id: p for p in panels}
        self._bus = bus

    @property
    def panels(self) -> Mapping[str, FakePanel]:
        return self._panels

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()
