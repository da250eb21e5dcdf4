"""What one panel owner is told: where the panel is, how to queue, reconnect and time out."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from e27bridge.panel.inventory import DEFAULT_MAX_AGE
from e27bridge.panel.queue import QueueSettings
from e27bridge.panel.session import SessionTimeouts


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    min_backoff: float = 1.0
    max_backoff: float = 300.0
    refused_backoff: float = 60.0  # HELLO refused: another client holds the link
    discovery_timeout: float = 3.0
    verify_timeout: float = 1.0
    keepalive_after: float = 30.0
    keepalive_timeout: float = 5.0

    def backoff(self, failures: int, rng: random.Random, floor: float = 0.0) -> float:
        """Capped exponential delay after ``failures`` failures, jittered to 50-100 %."""
        base = min(self.max_backoff, self.min_backoff * 2 ** max(0, failures - 1))
        return float(max(base, floor) * (0.5 + rng.random() / 2))


@dataclass(frozen=True, slots=True)
class PanelSettings:
    panel_id: str
    mac: str
    host: str | None
    port: int = 2101
    discovery_port: int = 2362
    broadcast: tuple[str, ...] = ()  # extra discovery targets (e.g. "255.255.255.255")
    queue: QueueSettings = field(default_factory=QueueSettings)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    timeouts: SessionTimeouts = field(default_factory=SessionTimeouts)
    inventory_max_age: float = DEFAULT_MAX_AGE  # older stored configuration: read in full
