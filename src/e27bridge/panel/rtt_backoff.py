"""Back off when the panel's round trips rise (ADR-0015): the rest it gets after each reply.

Pure logic, fed with each answered request's RTT. The baseline is what the panel usually
needs: it follows a faster RTT at once and a slower one only slowly, so a constant service
time, however long, becomes the baseline and never looks like trouble. When the recent RTTs
(an average that follows each new one quickly) rise above the baseline by more than
``threshold`` and by more than ``ratio`` times it, the panel is struggling: it rests
``gain`` times the excess after each reply before the next request, up to ``max_gap``, and
the rest shrinks again as the RTTs recover. Backing off ends when the excess falls below
half the threshold (hysteresis, so jitter around the threshold does not flap).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RttBackoffSettings:
    enabled: bool = True
    threshold: float = 0.02  # seconds above the baseline that are still jitter
    ratio: float = 2.0  # ... and the recent RTT must be this many times the baseline
    gain: float = 1.0  # rest per second of excess
    max_gap: float = 1.0  # the rest never exceeds this, seconds
    smoothing: float = 0.25  # weight of a new RTT in the recent average
    drift: float = 0.01  # weight with which the baseline follows a slower RTT


class Change(enum.Enum):
    STARTED = "started"
    ENDED = "ended"


class RttBackoff:
    """The rest (seconds, 0 when the panel is well) after each observed round trip."""

    def __init__(self, settings: RttBackoffSettings | None = None) -> None:
        self.settings = settings or RttBackoffSettings()
        self.baseline: float | None = None
        self.recent: float | None = None
        self.extra = 0.0

    @property
    def active(self) -> bool:
        return self.extra > 0

    def observe(self, rtt: float) -> Change | None:
        """Take one RTT; returns the change when backing off starts or ends."""
        s = self.settings
        if self.baseline is None or self.recent is None:
            self.baseline = self.recent = rtt
            return None
        self.recent += s.smoothing * (rtt - self.recent)
        if rtt < self.baseline:
            self.baseline = rtt
        else:
            self.baseline += s.drift * (rtt - self.baseline)
        excess = self.recent - self.baseline
        was_active = self.active
        rising = excess > s.threshold and self.recent > s.ratio * self.baseline
        if s.enabled and (rising or (was_active and excess > s.threshold / 2)):
            self.extra = min(s.max_gap, s.gain * excess)
        else:
            self.extra = 0.0
        if self.active != was_active:
            return Change.STARTED if self.active else Change.ENDED
        return None
