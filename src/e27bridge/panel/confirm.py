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
from e27bridge.panel.state import EntityKind
from e27bridge.protocol.errors import MalformedMessage
from e27bridge.protocol.messages import Inbound

CONFIRM_WINDOW = 1.0  # seconds after the ack to wait for a broadcast before reading back


@dataclass(eq=False, slots=True)
class Watch:
    kind: EntityKind
    entity_id: int
    last_seen: float | None = None  # loop time of the latest status message with state


def carries_state(kind: EntityKind, entity_id: int, message: Inbound) -> bool:
    """True when ``message`` reports state (more than the bare id) for this entity."""
    if message.error_code or message.command is None:
        return False
    spec = KINDS[kind]
    if spec.bulk is not None and message.command == spec.bulk.command:
        reader = spec.bulk.reader
    elif message.command in spec.status_commands and spec.status is not None:
        reader = spec.status
    else:
        return False
    try:
        status = reader.parse(message.body).get(entity_id)
        bare = reader.parse({f"{kind.value}_id": entity_id}).get(entity_id)
    except (MalformedMessage, ValueError, TypeError):
        return False
    return status is not None and status != bare


class Confirmations:
    """The entities commands are waiting to hear about; fed every inbound message."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._watches: set[Watch] = set()

    @property
    def pending(self) -> int:
        """Commands still deciding whether to read back."""
        return len(self._watches)

    def watch(self, kind: EntityKind, entity_id: int) -> Watch:
        watch = Watch(kind, entity_id)
        self._watches.add(watch)
        return watch

    def seen(self, message: Inbound) -> None:
        if not self._watches or message.domain is None:
            return
        kind = kind_named(message.domain)
        for watch in self._watches:
            if watch.kind is kind and carries_state(kind, watch.entity_id, message):
                watch.last_seen = self._loop.time()

    def confirmed(self, watch: Watch, sent_at: float) -> bool:
        return watch.last_seen is not None and watch.last_seen >= sent_at

    def done(self, watch: Watch) -> None:
        self._watches.discard(watch)
