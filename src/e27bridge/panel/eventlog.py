"""Follows the panel's event log so new entries (who armed, which zone alarmed) become events.

The log is read when something happened that the panel writes an entry for (a change of a
field in ``LOGGED_FIELDS``, a trouble), or when the panel announces a new entry (a
``log.get_index`` broadcast, ADR-0206), and never replayed: the first read after a
(re)connect only notes where the log stands. A panel may write the entry just after its
status broadcast, so a read that found nothing new looks once more ``RECHECK`` s later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from e27bridge.panel.events import EngineEvent, EntityChanged, PanelEvent
from e27bridge.panel.queue import Priority, RequestQueue
from e27bridge.panel.state import EntityKind
from e27bridge.protocol import models, requests
from e27bridge.protocol.errors import MalformedMessage

log = structlog.get_logger("e27bridge.eventlog")

Spawn = Callable[[Callable[[], Awaitable[None]]], "asyncio.Task[None]"]

MAX_ENTRIES_PER_READ = 20
RECHECK = 1.0  # seconds: a read after a change that found no entry looks once more
TRIGGERS = frozenset({"armed", "disarmed", "alarm", "bypass", "trouble"})
# Changes the panel writes a log entry for (who armed, disarmed, bypassed; which zone
# alarmed; a lock or a barrier operated). A zone merely opening is not logged.
LOGGED_FIELDS: dict[EntityKind, frozenset[str]] = {
    EntityKind.AREA: frozenset({"arm_state", "arm_cmd_state", "alarm_active", "alarm_zone"}),
    EntityKind.ZONE: frozenset({"bypassed", "alarm", "trouble", "tamper", "low_battery"}),
    EntityKind.LOCK: frozenset({"locked"}),
    EntityKind.BARRIER: frozenset({"position"}),
}


def announces_entry(event: EngineEvent) -> bool:
    """Whether the panel has (or is about to have) a log entry for this change."""
    if isinstance(event, PanelEvent):
        return event.type in TRIGGERS
    if isinstance(event, EntityChanged) and event.old is not None and event.new is not None:
        return not LOGGED_FIELDS.get(event.kind, frozenset()).isdisjoint(event.fields)
    return False


class EventLogFollower:
    def __init__(
        self,
        queue: RequestQueue,
        emit: Callable[[models.LogEntry], None],
        spawn: Spawn | None = None,
    ) -> None:
        self._queue = queue
        self._emit = emit
        self._spawn = spawn  # a supervisor: a bug in a read is reported, not lost
        self._last_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._recheck: asyncio.TimerHandle | None = None
        self._rechecks = 0  # looks left after a read that found nothing new

    def start_at(self, newest: int | None) -> None:
        """After (re)connect: entries up to ``newest`` are history (None: note it on next read)."""
        self._last_id = newest

    def poke(self) -> None:
        """Something happened: read the new entries soon (one read at a time)."""
        self._rechecks = 1
        self._start()

    def _start(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        if self._spawn is not None:
            self._task = self._spawn(self._run)
        else:
            self._task = asyncio.create_task(self._run(), name="e27-eventlog")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._recheck is not None:
            self._recheck.cancel()

    async def _run(self) -> None:
        while True:
            self._again = False
            found = True
            try:
                found = await self._read()
            except MalformedMessage as exc:
                log.warning("eventlog_malformed", error=str(exc))
            if not self._again:
                if not found and self._rechecks and self._recheck is None:
                    self._rechecks -= 1
                    loop = asyncio.get_running_loop()
                    self._recheck = loop.call_later(RECHECK, self._rechecked)
                return

    def _rechecked(self) -> None:
        self._recheck = None
        self._start()

    async def _read(self) -> bool:
        """One look at the log; False when it stood where the last look left it."""
        index = await self._queue.submit(requests.log_index(), Priority.BACKGROUND)
        if not index.ok or index.reply is None:
            return True
        newest = models.parse_log_index(index.reply.body).newest
        last = self._last_id
        self._last_id = newest
        if newest is None or last is None or newest <= last:
            return last is None or newest != last  # first read, or the log wrapped
        count = min(newest - last, MAX_ENTRIES_PER_READ)
        listing = await self._queue.submit(requests.log_list(newest, count), Priority.BACKGROUND)
        if listing.ok and listing.reply is not None:
            entries = models.parse_log_list(listing.reply.body)
            for entry in sorted(entries, key=lambda e: e.log_id):
                if entry.log_id > last:
                    self._emit(entry)
        return True
