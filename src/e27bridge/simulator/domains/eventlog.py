"""The panel's event log: a bounded list of numbered, timestamped text entries (§13.14).

How a real panel announces a new entry is unknown (protocol §20 item 7); the simulator
offers both answers (ADR-0206): ``behaviour.log_announce = "none"`` (clients must poll
``get_index``) or ``"get_index"`` (a seq-0 ``log.get_index`` broadcast per new entry).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.domains.base import (
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    int_param,
    intish,
    ok,
)

MAX_LIST = 50


@dataclass(frozen=True, slots=True)
class LogEntry:
    log_id: int
    time: int
    text: str


class EventLog:
    """Appends entries for every domain and answers the ``log`` commands."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.capacity = core.inv.log_capacity
        self.entries: deque[LogEntry] = deque(maxlen=self.capacity)
        self.next_id = 1

    def append(self, now: float, text: str) -> None:
        entry = LogEntry(self.next_id, int(self.core.wall(now)), text)
        self.next_id += 1
        self.entries.append(entry)
        self.core.mark_dirty()
        if self.core.config.behaviour.log_announce == "get_index":
            self.core.broadcast("log", self._index(), "get_index")

    # -- persistence

    def snapshot(self) -> dict[str, Any]:
        return {
            "next_id": self.next_id,
            "entries": [[e.log_id, e.time, e.text] for e in self.entries],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.entries.clear()
        for log_id, time, text in data["entries"]:
            self.entries.append(LogEntry(int(log_id), int(time), str(text)))
        self.next_id = max(int(data["next_id"]), self._newest() + 1)

    # -- commands

    def handlers(self) -> Handlers:
        return {
            ("log", "get_index"): lambda c: ok(c, self._index()),
            ("log", "get_list"): self._list,
            ("log", "get_log"): self._get,
            ("log", "get_trouble"): lambda c: ok(c, {"log_full": self._full()}),
            ("log", "get_attribs"): self._attribs,
        }

    def _newest(self) -> int:
        return self.entries[-1].log_id if self.entries else 0

    def _full(self) -> bool:
        return len(self.entries) >= self.capacity

    def _index(self) -> dict[str, Any]:
        return {"newest": self._newest(), "max": self.capacity, "total": len(self.entries)}

    def _list(self, call: Call) -> Message:
        params = call.params
        start = intish(params.get("start", 0)) or 0
        count = intish(params.get("cnt", 10))
        date = intish(params.get("date", 0)) or 0
        if count is None or count < 1:
            raise Refused(E.INVALID_PARAM)
        picked: list[LogEntry] = []
        for entry in reversed(self.entries):  # newest first
            if start and entry.log_id > start:
                continue
            if entry.time < date or len(picked) >= min(count, MAX_LIST):
                break
            picked.append(entry)
        return ok(
            call,
            {
                "id": [e.log_id for e in picked],
                "time": [e.time for e in picked],
                "text": [e.text for e in picked],
            },
        )

    def _get(self, call: Call) -> Message:
        log_id = int_param(call.params, "log_id")
        entry = next((e for e in self.entries if e.log_id == log_id), None)
        if entry is None:
            raise Refused(E.INVALID_ID, {"log_id": log_id})
        body = {
            "log_id": log_id,
            "log_count": len(self.entries),
            "time": entry.time,
            "logdata": entry.text,
        }
        return ok(call, body)

    def _attribs(self, call: Call) -> Message:
        flags = {"arm_changed": True, "alarm": True, "bypass": True, "trouble": True}
        return ok(call, {"log_flags": flags, "sdlog_flags": dict.fromkeys(flags, False)})
