"""Wait on a condition instead of sleeping a fixed time: fast when idle, patient when loaded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_TIMEOUT = 10.0
POLL = 0.01


async def wait_until(
    predicate: Callable[[], object], what: str = "the condition", timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Return once ``predicate()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL)


def tasks_named(name: str) -> list[asyncio.Task[object]]:
    """Unfinished tasks with this name (how a test sees background work end)."""
    return [t for t in asyncio.all_tasks() if t.get_name() == name and not t.done()]
