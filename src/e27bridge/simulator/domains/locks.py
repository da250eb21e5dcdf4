"""Locks: Z-Wave door locks; ``status`` ON means locked (§13.7)."""

from __future__ import annotations

from typing import Any

from e27bridge.simulator.domains.base import (
    Call,
    Core,
    Handlers,
    Message,
    device_attribs,
    entity_id,
    load_flags,
    ok,
    on_off,
    save_flags,
)
from e27bridge.simulator.domains.eventlog import EventLog


class Locks:
    def __init__(self, core: Core, log: EventLog) -> None:
        self.core = core
        self.log = log
        self.items = {lock.id: lock for lock in core.inv.locks}
        self.locked: dict[int, bool] = dict.fromkeys(self.items, True)

    def snapshot(self) -> dict[str, Any]:
        return save_flags(self.locked)

    def restore(self, data: dict[str, Any]) -> None:
        load_flags(self.locked, data)

    def handlers(self) -> Handlers:
        return {
            ("lock", "get_attribs"): lambda c: device_attribs(c, self.items),
            ("lock", "get_status"): lambda c: ok(c, self._status(entity_id(c, self.locked))),
            ("lock", "set_status"): self._set_status,
        }

    def _status(self, lock_id: int) -> dict[str, Any]:
        locked = self.locked[lock_id]
        return {"lock_id": lock_id, "status": "ON" if locked else "OFF", "locked": locked}

    def _set_status(self, call: Call) -> Message:
        lock_id = entity_id(call, self.locked)
        ids = {"lock_id": lock_id}
        locked = on_off(call.params, ids)
        self.core.zwave_busy(ids)
        if self.locked[lock_id] != locked:
            self.locked[lock_id] = locked
            self.core.mark_dirty()
            self.log.append(call.now, f"Lock {lock_id} {'locked' if locked else 'unlocked'}")
            self.core.device_report("lock", self._status(lock_id), call.now)
        return ok(call, ids)
