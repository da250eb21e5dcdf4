"""Deterministic household activity: random zone openings and closings, with bursts.

Openings form a Poisson process at ``zone_change_rate`` per second plus, optionally, a burst
of ``burst_size`` zones every ``burst_interval`` seconds; every opened zone closes again after
a hold time drawn from ``[hold_min, hold_max]``. All randomness comes from the generator's own
``random.Random``, so a seed reproduces the same sequence whatever the clients do.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass

from e27bridge.simulator.config import ActivityConfig


@dataclass(frozen=True, slots=True)
class ZoneChange:
    at: float
    zone_id: int
    state: str  # "open" | "closed"


class ActivityGenerator:
    """Produces ``ZoneChange``s up to a given time; pure apart from its private rng."""

    def __init__(
        self, config: ActivityConfig, zone_ids: Sequence[int], rng: random.Random, now: float
    ) -> None:
        self._config = config
        self._zones = tuple(sorted(zone_ids))
        self._rng = rng
        self._closings: list[tuple[float, int]] = []  # heap of (due, zone_id)
        self._open: set[int] = set()
        active = config.enabled and bool(self._zones)
        self._next_single: float | None = None
        self._next_burst: float | None = None
        if active and config.zone_change_rate > 0:
            self._next_single = now + rng.expovariate(config.zone_change_rate)
        if active and config.burst_size > 0:
            self._next_burst = now + config.burst_interval

    def next_due(self) -> float | None:
        candidates = [t for t in (self._next_single, self._next_burst) if t is not None]
        if self._closings:
            candidates.append(self._closings[0][0])
        return min(candidates) if candidates else None

    def poll(self, now: float) -> list[ZoneChange]:
        """Every change due at or before ``now``, in time order."""
        changes: list[ZoneChange] = []
        while True:
            due = self.next_due()
            if due is None or due > now:
                break
            if self._closings and self._closings[0][0] == due:
                _, zone_id = heapq.heappop(self._closings)
                self._open.discard(zone_id)
                changes.append(ZoneChange(due, zone_id, "closed"))
            elif self._next_single is not None and self._next_single == due:
                self._open_zones(due, 1, changes)
                self._next_single = due + self._rng.expovariate(self._config.zone_change_rate)
            elif self._next_burst is not None:
                self._open_zones(due, self._config.burst_size, changes)
                self._next_burst = due + self._config.burst_interval
        return changes

    def _open_zones(self, at: float, count: int, changes: list[ZoneChange]) -> None:
        closed = [z for z in self._zones if z not in self._open]
        for zone_id in self._rng.sample(closed, min(count, len(closed))):
            self._open.add(zone_id)
            hold = self._rng.uniform(self._config.hold_min, self._config.hold_max)
            heapq.heappush(self._closings, (at + hold, zone_id))
            changes.append(ZoneChange(at, zone_id, "open"))
