"""The coalescing window: bulk updates collapse, urgent ones go at once and keep order."""

from __future__ import annotations

import pytest

from e27bridge.mqtt.coalesce import Coalescer
from waiting import wait_until

from .recording import RecordingSink


async def test_window_off_publishes_immediately() -> None:
    rec = RecordingSink()
    sink = Coalescer(rec, 0)
    await sink.publish("a", "1", urgent=False)
    assert rec.sent == [("a", "1")]


async def test_bulk_updates_collapse_and_urgent_flushes_first() -> None:
    rec = RecordingSink()
    sink = Coalescer(rec, 0.05)
    await sink.publish("zone-1", "true", urgent=False)
    await sink.publish("zone-1", "false", urgent=False)
    await sink.publish("zone-2", "true", urgent=False)
    assert rec.sent == []
    await sink.publish("area-1/state", "triggered", urgent=True)
    assert rec.sent == [("zone-1", "false"), ("zone-2", "true"), ("area-1/state", "triggered")]
    await sink.publish("zone-3", "true", urgent=False)
    await wait_until(lambda: rec.sent[-1] == ("zone-3", "true"), "the window to flush")
    await sink.close()


def test_window_is_bounded() -> None:
    with pytest.raises(ValueError, match="coalescing"):
        Coalescer(RecordingSink(), 0.3)
