"""Request/response correlation for one session: at most one request awaits its reply.

Sans-IO: the caller passes ``now`` (monotonic seconds) and acts on the returned values.
The outstanding request ends exactly once: by its reply, its deadline, or connection loss.
A reply that arrives after the deadline matches nothing and ends nothing (ADR-0111).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from e27bridge.protocol.messages import Inbound, MessageKind


class EndReason(enum.Enum):
    REPLY = "reply"
    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"


@dataclass(frozen=True, slots=True)
class Ended:
    seq: int
    reason: EndReason
    reply: Inbound | None
    sent_at: float
    ended_at: float

    @property
    def rtt(self) -> float:
        return self.ended_at - self.sent_at


class InFlightError(RuntimeError):
    """Raised when a caller tries to send while a request is still outstanding."""


@dataclass(slots=True)
class _Outstanding:
    seq: int
    sent_at: float
    deadline: float


class Correlator:
    def __init__(self) -> None:
        self._outstanding: _Outstanding | None = None
        self.last_received_at: float | None = None

    @property
    def busy(self) -> bool:
        return self._outstanding is not None

    @property
    def outstanding_seq(self) -> int | None:
        return self._outstanding.seq if self._outstanding else None

    def deadline(self) -> float | None:
        return self._outstanding.deadline if self._outstanding else None

    def sent(self, seq: int, now: float, timeout: float) -> None:
        if self._outstanding is not None:
            raise InFlightError(f"seq {self._outstanding.seq} is still outstanding")
        if seq <= 0:
            raise ValueError("request seq must be positive")
        self._outstanding = _Outstanding(seq, now, now + timeout)

    def received(self, message: Inbound, now: float) -> Ended | None:
        """Feed every inbound message; returns the ending when it is the awaited reply."""
        self.last_received_at = now
        current = self._outstanding
        if current is None or message.kind is not MessageKind.REPLY or message.seq != current.seq:
            return None
        if now > current.deadline:
            return self._end(EndReason.TIMEOUT, None, current.deadline)
        return self._end(EndReason.REPLY, message, now)

    def poll(self, now: float) -> Ended | None:
        """Call when the deadline passes; ends the request by timeout if it is due."""
        current = self._outstanding
        if current is None or now < current.deadline:
            return None
        return self._end(EndReason.TIMEOUT, None, now)

    def connection_lost(self, now: float) -> Ended | None:
        if self._outstanding is None:
            return None
        return self._end(EndReason.CONNECTION_LOST, None, now)

    def silent_since_sent(self, ended: Ended) -> bool:
        """True when nothing at all arrived while the request waited (link check needed)."""
        return self.last_received_at is None or self.last_received_at < ended.sent_at

    def _end(self, reason: EndReason, reply: Inbound | None, now: float) -> Ended:
        assert self._outstanding is not None
        ended = Ended(self._outstanding.seq, reason, reply, self._outstanding.sent_at, now)
        self._outstanding = None
        return ended
