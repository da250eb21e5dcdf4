"""Does the panel tell us an entity's new state after our write, or must we read it back?

A write's ack often carries no state, but the panel usually reports the new state by itself
(a status reply with the state, or a broadcast right after the ack). A read-back then only
doubles the requests a command costs on a single-in-flight link. So every command watches
its entity from the moment it is queued; once its write is acknowledged, a status message
for that entity that arrived after the write was sent confirms it, and only when none comes
within ``CONFIRM_WINDOW`` is the entity re-read (ADR-0010).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from e27bridge.panel.kinds import KINDS, kind_named
from e27bridge.panel.kinds.base import StatusReader
from e27bridge.panel.state import EntityKind
from e27bridge.protocol.errors import MalformedMessage
from e27bridge.protocol.messages import Inbound

CONFIRM_WINDOW = 1.0  # seconds after the ack to wait for a broadcast before reading back


@dataclass(eq=False, slots=True)
class Watch:
    kind: EntityKind
    entity_id: int
    last_seen: float | None = None  # loop time of the latest status message with state


def _reader(message: Inbound) -> tuple[EntityKind, StatusReader] | None:
    """The kind and the status reader for ``message``, if it is a status of some kind."""
    if message.error_code or message.command is None or message.domain is None:
        return None
    kind = kind_named(message.domain)
    if kind is None:
        return None
    spec = KINDS[kind]
    if spec.bulk is not None and message.command == spec.bulk.command:
        return kind, spec.bulk.reader
    if message.command in spec.status_commands and spec.status is not None:
        return kind, spec.status
    return None


class Confirmations:
    """The entities commands are waiting to hear about; fed every inbound message."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._watches: dict[tuple[EntityKind, int], set[Watch]] = {}

    @property
    def pending(self) -> int:
        """Commands still deciding whether to read back."""
        return sum(len(w) for w in self._watches.values())

    def watch(self, kind: EntityKind, entity_id: int) -> Watch:
        watch = Watch(kind, entity_id)
        self._watches.setdefault((kind, entity_id), set()).add(watch)
        return watch

    def seen(self, message: Inbound) -> None:
        """One parse per message, whatever the number of commands waiting; a status counts
        when it says more than the bare id would."""
        if not self._watches or (found := _reader(message)) is None:
            return
        kind, reader = found
        try:
            statuses = reader.parse(message.body)
            now = self._loop.time()
            for entity_id, status in statuses.items():
                watches = self._watches.get((kind, entity_id))
                if watches and status != reader.parse({f"{kind.value}_id": entity_id}).get(
                    entity_id
                ):
                    for watch in watches:
                        watch.last_seen = now
        except (MalformedMessage, ValueError, TypeError):
            return

    def confirmed(self, watch: Watch, sent_at: float) -> bool:
        return watch.last_seen is not None and watch.last_seen >= sent_at

    def done(self, watch: Watch) -> None:
        key = (watch.kind, watch.entity_id)
        watches = self._watches.get(key)
        if watches is not None:
            watches.discard(watch)
            if not watches:
                del self._watches[key]
