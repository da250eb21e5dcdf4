"""Follows the panel's event log so new entries (who armed, which zone alarmed) become events.

The log is read only when something happened (arming, alarm, bypass, trouble) and never
replayed: the first read after a (re)connect only notes where the log stands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from e27bridge.panel.queue import Priority, RequestQueue, Spawn
from e27bridge.protocol import models, requests
from e27bridge.protocol.errors import MalformedMessage

log = structlog.get_logger("e27bridge.eventlog")

MAX_ENTRIES_PER_READ = 20
TRIGGERS = frozenset({"armed", "disarmed", "alarm", "bypass", "trouble"})


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

    def start_at(self, newest: int | None) -> None:
        """After (re)connect: entries up to ``newest`` are history (None: note it on next read)."""
        self._last_id = newest

    def poke(self) -> None:
        """Something happened: read the new entries soon (one read at a time)."""
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

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._read()
            except MalformedMessage as exc:
                log.warning("eventlog_malformed", error=str(exc))
            if not self._again:
                return

    async def _read(self) -> None:
        index = await self._queue.submit(requests.log_index(), Priority.BACKGROUND)
        if not index.ok or index.reply is None:
            return
        newest = models.parse_log_index(index.reply.body).newest
        last = self._last_id
        self._last_id = newest
        if newest is None or last is None or newest <= last:
            return  # first read, nothing new, or the log wrapped: nothing to replay
        count = min(newest - last, MAX_ENTRIES_PER_READ)
        listing = await self._queue.submit(requests.log_list(newest, count), Priority.BACKGROUND)
        if not listing.ok or listing.reply is None:
            return
        for entry in sorted(models.parse_log_list(listing.reply.body), key=lambda e: e.log_id):
            if entry.log_id > last:
                self._emit(entry)
