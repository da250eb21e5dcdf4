"""Fan-out of engine events to independent consumers (Homie, HA discovery, event stream).

Each subscriber gets its own queue, so a slow consumer never delays the engine or another
consumer; nothing is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType

from e27bridge.panel.events import EngineEvent


class Subscription:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()

    def put(self, event: EngineEvent | None) -> None:
        self._queue.put_nowait(event)

    async def get(self) -> EngineEvent | None:
        """Next event, or ``None`` once the bus is closed."""
        return await self._queue.get()

    def pending(self) -> int:
        return self._queue.qsize()

    def take_pending(self) -> list[EngineEvent | None]:
        """Everything queued now, without waiting (a consumer catching up in one batch)."""
        taken: list[EngineEvent | None] = []
        while not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken

    def close(self) -> None:
        self._bus.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[EngineEvent]:
        while (event := await self.get()) is not None:
            yield event

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def publish(self, event: EngineEvent) -> None:
        for subscription in self._subscribers:
            subscription.put(event)

    def close(self) -> None:
        for subscription in self._subscribers:
            subscription.put(None)
        self._subscribers.clear()
