"""Optional coalescing window for bulk updates (default off, at most 250 ms).

Non-urgent publishes to the same topic within the window collapse to the last one; an urgent
publish (alarm, arming, troubles, ``$state``) flushes the window first, so ordering holds
and urgent changes are never delayed.
"""

from __future__ import annotations

import asyncio
import contextlib

from e27bridge.mqtt.sink import Sink

MAX_WINDOW = 0.25


class Coalescer:
    """A ``Sink`` in front of another one."""

    def __init__(self, inner: Sink, window: float) -> None:
        if not 0 <= window <= MAX_WINDOW:
            raise ValueError(f"coalescing window must be 0..{MAX_WINDOW} s")
        self._inner = inner
        self._window = window
        self._pending: dict[str, tuple[str | bytes, bool, int]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        retain: bool = True,
        qos: int = 1,
        urgent: bool = True,
    ) -> None:
        if self._window == 0:
            await self._inner.publish(topic, payload, retain=retain, qos=qos)
            return
        if urgent:
            await self.flush()
            await self._inner.publish(topic, payload, retain=retain, qos=qos)
            return
        self._pending.pop(topic, None)  # keep first-seen order for the latest value
        self._pending[topic] = (payload, retain, qos)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._later())

    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, {}
            for topic, (payload, retain, qos) in pending.items():
                await self._inner.publish(topic, payload, retain=retain, qos=qos)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.flush()

    async def _later(self) -> None:
        await asyncio.sleep(self._window)
        await self.flush()
