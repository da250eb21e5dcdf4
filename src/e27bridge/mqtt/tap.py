"""``<base>/<panel>/tap``: the panel's decoded traffic for debugging (``panels[].tap``).

Every request and every reply or broadcast of a tapped panel, not retained, as JSON with
direction, kind, seq and time; the records come redacted from the engine (``panel/tap``).
A burst beyond ``MAX_BACKLOG`` unsent records drops the oldest, never holds up the panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Iterable, Mapping
from functools import partial

import structlog

from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.api import PanelHandle
from e27bridge.panel.tap import TapRecord

log = structlog.get_logger(__name__)

MAX_BACKLOG = 1000


class TapFeature(Feature):
    name = "tap"

    def __init__(
        self, topics: Topics, sink: Sink, panels: Mapping[str, PanelHandle], tapped: Iterable[str]
    ) -> None:
        self._t = topics
        self._sink = sink
        self._panels = panels
        self._tapped = sorted(set(tapped) & set(panels))
        self._backlog: deque[tuple[str, TapRecord]] = deque(maxlen=MAX_BACKLOG)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    async def start(self) -> None:
        for panel_id in self._tapped:
            self._panels[panel_id].taps.append(partial(self._take, panel_id))
            log.warning("tap_enabled", panel=panel_id, topic=self._t.panel_tap(panel_id))
        if self._tapped:
            self._task = asyncio.create_task(self._publish(), name="e27-tap")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _take(self, panel_id: str, record: TapRecord) -> None:
        """Called by the panel's queue: must be quick and must not fail."""
        if len(self._backlog) == self._backlog.maxlen:
            self.dropped += 1
        self._backlog.append((panel_id, record))
        self._wakeup.set()

    async def _publish(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._backlog:
                panel_id, record = self._backlog.popleft()
                text = json.dumps(record.as_json(), separators=(",", ":"), default=str)
                with contextlib.suppress(Exception):  # the broker may be away: a tap is lossy
                    await self._sink.publish(self._t.panel_tap(panel_id), text, retain=False)
