"""Counters the simulator keeps about its clients, so tests can assert how a client behaved.

The most important figure is ``in_flight_violations``: a request that arrived while the same
session still had one unanswered breaks the vendor's single-in-flight rule (protocol §16.1).
A request whose reply the simulator deliberately dropped or sent late no longer counts as
outstanding: a well-behaved client times out and moves on, which is not a violation
(ADR-0250).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Closed sessions beyond this many are forgotten (the totals keep counting them).
MAX_SESSION_RECORDS = 1000


@dataclass(slots=True)
class SessionStats:
    """One HELLO session, from accept to close."""

    session_id: int
    sn: str
    requests: int = 0
    outstanding: int = 0
    max_outstanding: int = 0
    in_flight_violations: int = 0
    closed: bool = False
    close_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "sn": self.sn,
            "requests": self.requests,
            "max_outstanding": self.max_outstanding,
            "in_flight_violations": self.in_flight_violations,
            "closed": self.closed,
            "close_reason": self.close_reason,
        }


@dataclass(slots=True)
class ServerStats:
    """Mutable counters owned by one server; ``snapshot()`` is the JSON-able view."""

    requests_total: int = 0
    max_outstanding: int = 0
    replies_sent: int = 0
    broadcasts_sent: int = 0
    in_flight_violations: int = 0
    connections_accepted: int = 0
    sessions_opened: int = 0
    sessions_refused: Counter[str] = field(default_factory=Counter)
    links_made: int = 0
    links_refused: Counter[str] = field(default_factory=Counter)
    protocol_errors: Counter[str] = field(default_factory=Counter)
    faults_injected: Counter[str] = field(default_factory=Counter)
    sessions: list[SessionStats] = field(default_factory=list)

    def open_session(self, session_id: int, sn: str) -> SessionStats:
        self.sessions_opened += 1
        session = SessionStats(session_id, sn)
        self.sessions.append(session)
        if len(self.sessions) > MAX_SESSION_RECORDS:
            oldest_closed = next((s for s in self.sessions if s.closed), None)
            if oldest_closed is not None:
                self.sessions.remove(oldest_closed)
        return session

    def request_received(self, session: SessionStats) -> bool:
        """Account one request; True when it is an in-flight violation."""
        self.requests_total += 1
        session.requests += 1
        violation = session.outstanding > 0
        session.outstanding += 1
        session.max_outstanding = max(session.max_outstanding, session.outstanding)
        self.max_outstanding = max(self.max_outstanding, session.outstanding)
        if violation:
            session.in_flight_violations += 1
            self.in_flight_violations += 1
        return violation

    @staticmethod
    def request_settled(session: SessionStats) -> None:
        """The request was answered, or its reply dropped or deferred past any timeout."""
        session.outstanding = max(0, session.outstanding - 1)

    @property
    def sessions_active(self) -> int:
        return sum(1 for s in self.sessions if not s.closed)

    def snapshot(self, domain_counts: dict[str, int] | None = None) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "replies_sent": self.replies_sent,
            "broadcasts_sent": self.broadcasts_sent,
            "in_flight_violations": self.in_flight_violations,
            "max_outstanding": self.max_outstanding,
            "connections_accepted": self.connections_accepted,
            "sessions_opened": self.sessions_opened,
            "sessions_active": self.sessions_active,
            "sessions_refused": sum(self.sessions_refused.values()),
            "sessions_refused_by_reason": dict(self.sessions_refused),
            "links_made": self.links_made,
            "links_refused": sum(self.links_refused.values()),
            "links_refused_by_reason": dict(self.links_refused),
            "protocol_errors": sum(self.protocol_errors.values()),
            "protocol_errors_by_kind": dict(self.protocol_errors),
            "faults_injected": dict(self.faults_injected),
            "domain_counts": dict(domain_counts or {}),
            "sessions": [s.as_dict() for s in self.sessions],
        }
