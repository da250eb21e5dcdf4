"""The reconnect back-off on its own: doubling from min_backoff, capped, floored, jittered."""

from __future__ import annotations

import random

from e27bridge.panel.settings import ReconnectPolicy

POLICY = ReconnectPolicy(min_backoff=1.0, max_backoff=60.0)


def test_doubles_per_failure_up_to_the_cap_within_half_to_full_jitter() -> None:
    rng = random.Random(5)
    for failures, step in [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (7, 60.0), (40, 60.0)]:
        for _ in range(50):
            assert step / 2 <= POLICY.backoff(failures, rng) <= step


def test_a_floor_raises_short_steps_only() -> None:
    rng = random.Random(6)
    assert all(30.0 <= POLICY.backoff(1, rng, floor=60.0) <= 60.0 for _ in range(50))
    assert all(30.0 <= POLICY.backoff(9, rng, floor=10.0) <= 60.0 for _ in range(50))


def test_jitter_spreads_the_delays() -> None:
    rng = random.Random(7)
    assert len({round(POLICY.backoff(9, rng), 6) for _ in range(20)}) > 10
