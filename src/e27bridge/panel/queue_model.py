"""The request queue's data: priorities, settings, results and a waiting request."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field

from e27bridge.panel.commands import Outcome
from e27bridge.panel.rtt_backoff import RttBackoffSettings
from e27bridge.protocol.messages import Inbound
from e27bridge.protocol.requests import RequestSpec


class Priority(enum.IntEnum):
    HIGH = 0  # keepalive, authenticate, disarm
    NORMAL = 1  # user commands
    BACKGROUND = 2  # bootstrap and refresh


@dataclass(frozen=True, slots=True)
class QueueSettings:
    depth: int = 64
    command_max_age: float = 10.0
    min_interval: float = 0.05
    request_timeout: float = 5.0
    read_retries: int = 2
    busy_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rtt_backoff: RttBackoffSettings = field(default_factory=RttBackoffSettings)


@dataclass(frozen=True, slots=True)
class QueueResult:
    outcome: Outcome
    reply: Inbound | None = None
    code: int | None = None
    reason: str | None = None
    rtt: float | None = None
    sent_at: float | None = None  # loop time the answered frame was sent

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass(eq=False)
class QueueItem:
    """A request waiting or in flight, with what its retries need."""

    spec: RequestSpec
    priority: Priority
    timeout: float
    max_age: float | None
    enqueued_at: float
    future: asyncio.Future[QueueResult]
    attempts: int = 0
    busy_attempts: int = 0
    hold: object | None = None  # the exclusive unit it belongs to (``exclusive``)
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)
