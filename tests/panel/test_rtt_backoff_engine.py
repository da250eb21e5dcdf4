"""ADR-0015 end to end: a real simulated panel whose replies slow down mid-run makes the
queue widen the gap between requests, and the gap closes again when the panel recovers."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from typing import Any

from structlog.testing import capture_logs

from e27bridge.panel.queue import Priority
from e27bridge.protocol import requests

from .conftest import FAST_QUEUE, linked_owner, running


async def test_the_gap_grows_while_the_panel_slows_down_and_recovers_with_it(
    simulator: Any,
) -> None:
    async with simulator() as sim:
        queue_settings = dataclasses.replace(FAST_QUEUE, request_timeout=3.0)
        async with running(await linked_owner(sim, queue=queue_settings)) as owner:
            queue = owner.queue
            loop = asyncio.get_running_loop()
            handled: list[float] = []  # when the panel took each request
            handle = sim.panel.handle

            def spy(request: Any, auth: Any, now: float) -> Any:
                handled.append(loop.time())
                return handle(request, auth, now)

            sim.panel.handle = spy  # type: ignore[method-assign]
            zone = min(owner.snapshot.zones)
            stop = asyncio.Event()

            async def traffic() -> None:
                while not stop.is_set():
                    await queue.submit(requests.get_status("zone", zone), Priority.BACKGROUND)

            async def until(condition: Any, timeout: float = 20) -> None:
                async with asyncio.timeout(timeout):
                    while not condition():
                        await asyncio.sleep(0.01)

            with capture_logs() as logs:
                worker = asyncio.create_task(traffic())
                try:
                    await until(lambda: len(handled) >= 50)
                    assert queue.rest == 0  # fast and steady: no rest beyond the floor
                    sim.set_faults(response_delay=0.15)
                    await until(lambda: queue.rest > 0.05)
                    backing_off_from = len(handled)
                    await until(lambda: len(handled) >= backing_off_from + 3)
                    assert queue.rest <= queue.settings.rtt_backoff.max_gap
                    later = handled[backing_off_from:]
                    spacing = [b - a for a, b in itertools.pairwise(later)]
                    # the reply's delay plus a real gap before the next request
                    assert min(spacing) > 0.15 + 0.05
                    sim.clear_faults()
                    await until(lambda: queue.rest == 0)
                finally:
                    stop.set()
                    await worker
            events = [entry["event"] for entry in logs]
            assert "rtt_backoff_started" in events
            assert events.index("rtt_backoff_ended") > events.index("rtt_backoff_started")
