"""Command results waiting for the broker: kept while it is away, sent in order once it is back.

Retained state is rebuilt from the snapshots on every connect, but a command's result is
said once: dropped while the broker is away, the requester would never learn the outcome
of a command the panel executed. So results go through this bounded queue; one sender per
connection drains it, and a full queue drops its oldest result with a counter and one
warning per burst (ADR-0105).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiomqtt
import structlog
from paho.mqtt.properties import Properties

log = structlog.get_logger(__name__)

RESULT_BUFFER = 10_000  # about 3 MB of results; a command is answered within ~1 min anyway
RETRY_DELAY = 0.5  # after a publish refused while connected
SEND_WINDOW = 16  # results awaiting their PUBACK at once (paho keeps 20 QoS 1 in flight)


@dataclass(frozen=True, slots=True)
class Result:
    topic: str
    payload: str = field(repr=False)
    properties: Properties | None = None


class Outbox:
    """A bounded FIFO of results; ``send`` drains it into one connected client."""

    def __init__(self, limit: int = RESULT_BUFFER) -> None:
        self._queue: deque[Result] = deque()
        self._limit = limit
        self._waiting = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._drained = asyncio.Event()  # set after every batch the broker took
        self._overflowing = False
        self.dropped = 0  # results lost: the queue was full, or paho refused one (health)
        self.sent = 0

    def __len__(self) -> int:
        return len(self._queue)

    def __iter__(self) -> Iterator[Result]:
        return iter(tuple(self._queue))

    def put(self, result: Result) -> None:
        """Never waits: the message loop calls this."""
        if len(self._queue) >= self._limit:
            self._queue.popleft()
            self.dropped += 1
            if not self._overflowing:
                log.warning("mqtt_results_dropped", limit=self._limit, dropped=self.dropped)
            self._overflowing = True
        else:
            self._overflowing = False
        self._queue.append(result)
        self._empty.clear()
        self._waiting.set()

    async def send(self, client: aiomqtt.Client) -> None:
        """Publish queued results through ``client`` until cancelled (one connection's life).

        A result leaves the queue only once the broker has taken it (PUBACK); one that
        fails goes back to the front and waits for the next try or the next connection.
        Up to ``SEND_WINDOW`` results are on the wire at once, in queue order: waiting for
        each PUBACK before the next result would add a broker round trip per result.
        """
        while True:
            await self._waiting.wait()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(SEND_WINDOW, len(self._queue)))]
                tasks = [asyncio.create_task(self._publish(client, r)) for r in batch]
                try:
                    taken = await asyncio.gather(*tasks)
                except asyncio.CancelledError:  # the connection ends: the next one sends them
                    self._queue.extendleft(
                        reversed([r for r, t in zip(batch, tasks, strict=True) if not _taken(t)])
                    )
                    raise
                self._drained.set()
                kept = [r for r, ok in zip(batch, taken, strict=True) if ok is False]
                if kept:
                    self._queue.extendleft(reversed(kept))
                    await asyncio.sleep(RETRY_DELAY)
            self._waiting.clear()
            self._empty.set()

    async def _publish(self, client: aiomqtt.Client, result: Result) -> bool | None:
        """True: the broker took it; False: keep it for a retry; None: dropped."""
        try:
            await client.publish(
                result.topic, result.payload, qos=1, retain=False, properties=result.properties
            )
        except aiomqtt.MqttError as exc:
            log.warning("mqtt_result_kept", topic=result.topic, error=str(exc))
            return False
        except asyncio.CancelledError:
            raise
        except Exception:  # a result paho refuses outright would block all others
            self.dropped += 1
            log.exception("mqtt_result_unpublishable", topic=result.topic)
            return None
        self.sent += 1
        return True

    @property
    def crowded(self) -> bool:
        """More than half full: ``room`` would wait."""
        return len(self._queue) > self._limit // 2

    async def room(self) -> None:
        """While connected: wait until the queue is back under half full. The message loop
        calls this, so a flood slows down at the broker instead of dropping results."""
        while self.crowded:
            await self._drained.wait()
            self._drained.clear()

    async def wait_empty(self) -> None:
        """Until every queued result has been taken by the broker (clean shutdown)."""
        await self._empty.wait()


def _taken(task: asyncio.Task[bool | None]) -> bool:
    return task.done() and not task.cancelled() and task.result() is not False


__all__ = ["RESULT_BUFFER", "Outbox", "Result"]
