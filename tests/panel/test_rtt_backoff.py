"""The RTT backoff's pure logic (ADR-0015): when it adds a gap, how much, and when it stops."""

from __future__ import annotations

import random

from e27bridge.panel.rtt_backoff import Change, RttBackoff, RttBackoffSettings


def feed(backoff: RttBackoff, rtts: list[float]) -> list[Change]:
    return [change for rtt in rtts if (change := backoff.observe(rtt)) is not None]


def test_a_constant_service_time_never_backs_off_however_long() -> None:
    for service in (0.0002, 0.002, 0.010, 0.050, 0.5):
        backoff = RttBackoff()
        assert feed(backoff, [service] * 500) == []
        assert backoff.extra == 0


def test_jitter_of_a_fast_panel_on_a_loaded_machine_never_backs_off() -> None:
    """0 ms service time: RTTs of 0.1-3 ms with an occasional 15 ms stall of the loop."""
    rng = random.Random(14)
    rtts = [rng.uniform(0.0001, 0.003) for _ in range(5000)]
    for index in range(0, 5000, 97):
        rtts[index] = 0.015
    backoff = RttBackoff()
    assert feed(backoff, rtts) == []


def test_rising_rtts_add_a_gap_proportional_to_the_excess_and_bounded() -> None:
    backoff = RttBackoff()
    feed(backoff, [0.01] * 50)
    assert feed(backoff, [0.2] * 3) == [Change.STARTED]
    first = backoff.extra
    assert 0 < first < 0.2
    feed(backoff, [0.2] * 10)
    assert first < backoff.extra <= 0.2 - 0.01  # gain 1: the excess over the baseline
    feed(backoff, [30.0] * 10)
    assert backoff.extra == backoff.settings.max_gap


def test_the_gap_shrinks_as_rtts_recover_and_backing_off_ends() -> None:
    backoff = RttBackoff()
    feed(backoff, [0.01] * 50 + [0.3] * 20)
    high = backoff.extra
    gaps = []
    changes = []
    for _ in range(40):
        change = backoff.observe(0.01)
        gaps.append(backoff.extra)
        if change is not None:
            changes.append(change)
    assert changes == [Change.ENDED]
    assert all(a >= b for a, b in zip([high, *gaps], gaps, strict=False))  # never grows
    assert gaps[-1] == 0


def test_a_single_slow_reply_is_not_trouble() -> None:
    backoff = RttBackoff()
    assert feed(backoff, [0.01] * 50 + [0.05] + [0.01] * 10) == []


def test_a_slower_rtt_that_lasts_becomes_the_baseline() -> None:
    backoff = RttBackoff()
    changes = feed(backoff, [0.01] * 50 + [0.2] * 2000)
    assert changes == [Change.STARTED, Change.ENDED]
    assert backoff.extra == 0


def test_the_ratio_keeps_a_slow_link_from_backing_off_on_its_own_jitter() -> None:
    """A panel at 200 ms: 60 ms more is jitter (below 2 x the baseline)."""
    backoff = RttBackoff()
    assert feed(backoff, [0.2, 0.26] * 200) == []


def test_disabled_never_adds_a_gap() -> None:
    backoff = RttBackoff(RttBackoffSettings(enabled=False))
    assert feed(backoff, [0.01] * 50 + [1.0] * 50) == []
    assert backoff.extra == 0
