"""Keepalive and link check: a quiet or suspect link is probed; one missed probe ends it.

The panel sends nothing while idle, so a dead TCP path shows only when we ask. A probe goes
out after ``keepalive_after`` seconds without inbound traffic, or at once when the queue
reports a request that timed out without any reply (the link check).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from e27bridge.panel.queue import Priority, RequestQueue
from e27bridge.protocol import requests

log = structlog.get_logger("e27bridge.panel")


class Keepalive:
    def __init__(self, queue: RequestQueue, panel_id: str, *, after: float, timeout: float) -> None:
        self._queue = queue
        self._panel_id = panel_id
        self._after = after
        self._timeout = timeout
        self._probe_now = asyncio.Event()

    def check_now(self) -> None:
        """The queue saw a silent timeout: probe without waiting for the idle period."""
        self._probe_now.set()

    async def run(
        self,
        is_current: Callable[[], bool],
        close: Callable[[], Awaitable[None]],
        on_probe: Callable[[], None],
    ) -> None:
        """Probe the current session until it is retired or a probe goes unanswered."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while is_current():
            last = self._queue.last_received_at or started
            wait = last + self._after - loop.time()
            if wait > 0 and not await self._forced_within(wait):
                continue
            result = await self._queue.submit(
                requests.keepalive(), Priority.HIGH, reply_timeout=self._timeout
            )
            if not result.ok and result.code is None and is_current():
                log.warning("keepalive_missed", panel=self._panel_id)
                await close()
                return
            on_probe()

    async def _forced_within(self, wait: float) -> bool:
        forced = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._probe_now.wait(), wait)
            forced = True
        self._probe_now.clear()
        return forced
