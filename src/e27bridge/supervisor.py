"""Long-lived tasks under supervision: a bug is logged as a bug, counted and survived.

Every layer may import this module (it depends on the standard library and structlog only).
A supervised unit that raises is logged once with its traceback as ``internal_error``,
recorded as an ``Incident`` (which health reports and the engine turns into an alert) and
restarted after a capped back-off; it is never mistaken for a network or panel failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import structlog

log = structlog.get_logger("e27bridge.supervisor")

# An internal error older than this no longer makes the daemon unhealthy.
INCIDENT_WINDOW = 600.0


@dataclass(frozen=True, slots=True)
class Incident:
    """The internal errors of one unit: how many, the last one and when (wall clock)."""

    unit: str
    error: str
    count: int
    at: float

    @property
    def summary(self) -> str:
        return f"internal error in {self.unit}: {self.error} ({self.count}x)"


@dataclass(frozen=True, slots=True)
class Backoff:
    minimum: float = 1.0
    maximum: float = 60.0

    def delay(self, failures: int, rng: random.Random) -> float:
        base = min(self.maximum, self.minimum * 2 ** max(0, failures - 1))
        return float(base * (0.5 + rng.random() / 2))


def describe(exc: BaseException) -> str:
    """``TypeError: message`` with the message bounded (it goes to MQTT and health)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class Supervisor:
    """Runs units (async callables) as tasks, restarting any that raise."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._clock = clock
        self._incidents: dict[str, Incident] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def incidents(self) -> Mapping[str, Incident]:
        return MappingProxyType(self._incidents)

    def recent(self, window: float = INCIDENT_WINDOW) -> list[Incident]:
        now = self._clock()
        return [i for i in self._incidents.values() if now - i.at <= window]

    def report(self, unit: str, exc: BaseException, **context: object) -> Incident:
        """Log ``exc`` with its traceback as an internal error of ``unit`` and record it."""
        log.error("internal_error", unit=unit, error=describe(exc), exc_info=exc, **context)
        old = self._incidents.get(unit)
        incident = Incident(unit, describe(exc), 1, self._clock())
        if old is not None:
            incident = replace(incident, count=old.count + 1)
        self._incidents[unit] = incident
        return incident

    def start(
        self,
        unit: str,
        run: Callable[[], Awaitable[None]],
        *,
        on_crash: Callable[[Incident], None] | None = None,
    ) -> asyncio.Task[None]:
        """Run ``run()`` as a task; restart it with back-off whenever it raises.

        A unit that returns normally is done. ``on_crash`` is told about each incident
        (e.g. to raise an alert); an exception from it is reported, never propagated.
        """
        task = asyncio.create_task(self._keep(unit, run, on_crash), name=unit)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _keep(
        self,
        unit: str,
        run: Callable[[], Awaitable[None]],
        on_crash: Callable[[Incident], None] | None,
    ) -> None:
        failures = 0
        while True:
            try:
                await run()
                return
            except Exception as exc:  # the point of a supervisor
                failures += 1
                incident = self.report(unit, exc, restarts=failures)
            if on_crash is not None:
                try:
                    on_crash(incident)
                except Exception as exc:
                    self.report(f"{unit}.on_crash", exc)
            await asyncio.sleep(self.backoff.delay(failures, self._rng))

    async def stop(self) -> None:
        """Cancel every unit still running and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
