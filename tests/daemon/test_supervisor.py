"""The supervisor: a unit that raises is logged with its traceback, restarted with back-off,
and reported to health (issue 9, item 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from structlog.testing import capture_logs

from e27bridge.daemon.health import problems, read_health, write_health
from e27bridge.supervisor import Backoff, Incident, Supervisor


async def test_a_crashing_unit_is_reported_and_restarted() -> None:
    supervisor = Supervisor(Backoff(minimum=0.01, maximum=0.02))
    runs = 0
    crashes: list[Incident] = []
    done = asyncio.Event()

    async def unit() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise TypeError(f"bug {runs}")
        done.set()

    with capture_logs() as logs:
        task = supervisor.start("unit", unit, on_crash=crashes.append)
        await asyncio.wait_for(done.wait(), 5)
        await task
    assert runs == 3
    assert [c.count for c in crashes] == [1, 2]
    assert supervisor.incidents["unit"].error == "TypeError: bug 2"
    assert supervisor.recent()[0].summary == "internal error in unit: TypeError: bug 2 (2x)"
    errors = [e for e in logs if e["event"] == "internal_error"]
    assert len(errors) == 2 and all(e["exc_info"] is not None for e in errors)


async def test_a_failing_on_crash_is_reported_too_and_stop_cancels() -> None:
    supervisor = Supervisor(Backoff(minimum=10, maximum=10))

    async def unit() -> None:
        raise RuntimeError("boom")

    def on_crash(incident: Incident) -> None:
        raise ValueError("alert failed")

    supervisor.start("unit", unit, on_crash=on_crash)
    async with asyncio.timeout(5):
        while "unit.on_crash" not in supervisor.incidents:
            await asyncio.sleep(0.01)
    await supervisor.stop()  # the unit is in its back-off: cancelled, not left behind


def test_health_reports_internal_errors(tmp_path: Path) -> None:
    summary = "internal error in owner:home: TypeError: x (1x)"
    report = write_health(tmp_path, mqtt_connected=True, panels={}, internal_errors=(summary,))
    assert read_health(tmp_path).internal_errors == (summary,)
    assert problems(report) == [summary]
