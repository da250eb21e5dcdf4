"""Barriers (garage doors): open/close/stop with travel time, acting at most once (§13.8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.domains.base import (
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    device_attribs,
    entity_id,
    ok,
)
from e27bridge.simulator.domains.eventlog import EventLog

_SEEN_LIMIT = 256


@dataclass
class BarrierState:
    status: str = "CLOSED"
    moving_until: float = 0.0
    target: str = ""


class Barriers:
    def __init__(self, core: Core, log: EventLog) -> None:
        self.core = core
        self.log = log
        self.items = {b.id: b for b in core.inv.barriers}
        self.states = {b.id: BarrierState() for b in core.inv.barriers}
        # (session_id, seq) -> ack: a retransmitted command is answered again, not repeated.
        self._seen: dict[tuple[int, int], dict[str, Any]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {str(k): b.target or b.status for k, b in self.states.items()}

    def restore(self, data: dict[str, Any]) -> None:
        for key, status in data.items():
            barrier = self.states.get(int(key))
            if barrier is not None:
                barrier.status = str(status)

    def handlers(self) -> Handlers:
        return {
            ("barrier", "get_attribs"): lambda c: device_attribs(c, self.items),
            ("barrier", "get_status"): lambda c: ok(c, self._status(entity_id(c, self.states))),
            ("barrier", "set_status"): self._set_status,
        }

    def advance(self, now: float) -> None:
        for barrier_id, barrier in self.states.items():
            if barrier.target and barrier.moving_until <= now:
                barrier.status = barrier.target
                barrier.target = ""
                self.core.broadcast("barrier", self._status(barrier_id))

    def deadlines(self) -> list[float]:
        return [b.moving_until for b in self.states.values() if b.target]

    def _status(self, barrier_id: int) -> dict[str, Any]:
        return {
            "barrier_id": barrier_id,
            "status": self.states[barrier_id].status,
            "tamper": False,
            "low_batt": False,
            "rssi": -60,
        }

    def _set_status(self, call: Call) -> Message:
        barrier_id = entity_id(call, self.states)
        ids = {"barrier_id": barrier_id}
        key = (call.auth.session_id, call.request.seq)
        if key in self._seen:  # a retransmission: answer again, act at most once
            return ok(call, self._seen[key])
        command = call.params.get("status")
        if not isinstance(command, str) or command.lower() not in ("open", "close", "stop"):
            raise Refused(E.INVALID_PARAM, ids)
        self.core.zwave_busy(ids)
        self._move(barrier_id, command.lower(), call.now)
        ack = {**ids, "status": self.states[barrier_id].status}
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.clear()
        self._seen[key] = ack
        return ok(call, ack)

    def _move(self, barrier_id: int, verb: str, now: float) -> None:
        barrier = self.states[barrier_id]
        if verb == "stop":
            if barrier.target:
                barrier.target = ""
                barrier.status = "STOPPED"
                self.core.mark_dirty()
                self.core.broadcast("barrier", self._status(barrier_id))
            return
        final = "OPEN" if verb == "open" else "CLOSED"
        if final in (barrier.status, barrier.target):
            return
        self.log.append(now, f"Barrier {barrier_id} {verb}")
        travel = self.core.scaled(self.core.config.timings.barrier_travel)
        if travel <= 0:
            barrier.status = final
            barrier.target = ""
        else:
            barrier.status = "OPENING" if verb == "open" else "CLOSING"
            barrier.target = final
            barrier.moving_until = now + travel
        self.core.mark_dirty()
        self.core.broadcast("barrier", self._status(barrier_id))
