"""Pure state updates: apply one decoded panel message to a snapshot, producing events.

Replies and broadcasts use the same shapes, so one function serves both; every message is
a partial update (only fields that are present change). What a kind's status looks like
and how it folds in is declared by the kind (``panel/kinds``); this module only routes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from e27bridge.panel.events import EngineEvent, EntityChanged, PanelEvent
from e27bridge.panel.kinds import KINDS, kind_named
from e27bridge.panel.kinds.base import KindSpec, StatusReader
from e27bridge.panel.state import EntityKind, PanelSnapshot, changed_fields
from e27bridge.protocol import models
from e27bridge.protocol.messages import Inbound

SYSTEM_TROUBLE_COMMANDS = frozenset({"get_trouble", "get_troubles"})


class Reduction:
    """Accumulates a new snapshot and the events that lead to it."""

    def __init__(self, snapshot: PanelSnapshot) -> None:
        self.snapshot = snapshot
        self.events: list[EngineEvent] = []

    def put(self, kind: EntityKind, new: Any) -> None:
        entities = self.snapshot.entities(kind)
        old = entities.get(new.id)
        if old == new:
            return
        updated = dict(entities)
        updated[new.id] = new
        self.snapshot = self.snapshot.with_entities(kind, updated)
        self.events.append(
            EntityChanged(self.snapshot.panel_id, kind, new.id, old, new, changed_fields(old, new))
        )

    def remove_missing(self, kind: EntityKind, keep: set[int]) -> None:
        entities = self.snapshot.entities(kind)
        gone = [i for i in entities if i not in keep]
        if not gone:
            return
        self.snapshot = self.snapshot.with_entities(
            kind, {i: e for i, e in entities.items() if i in keep}
        )
        for entity_id in gone:
            old = entities[entity_id]
            self.events.append(
                EntityChanged(
                    self.snapshot.panel_id, kind, entity_id, old, None, changed_fields(old, None)
                )
            )

    def set_troubles(self, troubles: tuple[str, ...]) -> None:
        """System troubles: the snapshot holds them, each change is a ``trouble`` event."""
        old = self.snapshot.troubles
        if old == troubles:
            return
        self.snapshot = replace(self.snapshot, troubles=troubles)
        for name in sorted(set(troubles) - set(old)):
            self.emit("trouble", trouble=name, active=True)
        for name in sorted(set(old) - set(troubles)):
            self.emit("trouble", trouble=name, active=False)

    def emit(self, event_type: str, **data: Any) -> None:
        self.events.append(PanelEvent(self.snapshot.panel_id, event_type, data))


def apply_message(reduction: Reduction, message: Inbound) -> None:
    """Apply one message; unknown routes are ignored, malformed bodies raise."""
    if message.domain is None or message.command is None or message.error_code:
        return
    if message.domain == "system" and message.command in SYSTEM_TROUBLE_COMMANDS:
        apply_system_troubles(reduction, message.body)
        return
    kind = kind_named(message.domain)
    if kind is None:
        return
    spec = KINDS[kind]
    reader = _reader(spec, message.command)
    if reader is not None:
        apply_status(reduction, kind, spec, reader, message.body)


def _reader(spec: KindSpec, command: str) -> StatusReader | None:
    if spec.bulk is not None and command == spec.bulk.command:
        return spec.bulk.reader
    return spec.status if command in spec.status_commands else None


def apply_status(
    r: Reduction, kind: EntityKind, spec: KindSpec, reader: StatusReader, body: dict[str, Any]
) -> None:
    """Fold each status the body carries into its (known) entity; unknown ids are ignored."""
    for entity_id, status in reader.parse(body).items():
        old = r.snapshot.entities(kind).get(entity_id)
        if old is None:
            continue
        new = reader.merge(old, status)
        r.put(kind, new)
        for event_type, data in spec.events(old, new):
            r.emit(event_type, **data)


def apply_system_troubles(r: Reduction, body: dict[str, Any]) -> None:
    troubles = models.parse_troubles(body.get("troubles"))
    if troubles is not None:
        r.set_troubles(tuple(sorted(set(troubles))))
