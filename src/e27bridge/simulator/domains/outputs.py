"""Outputs: on/off relays, single and bulk status (§13.4)."""

from __future__ import annotations

from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.domains.base import (
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    entity_id,
    intish,
    load_flags,
    ok,
    on_off,
    save_flags,
)


class Outputs:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.names = {o.id: o.name for o in core.inv.outputs}
        self.on: dict[int, bool] = dict.fromkeys(self.names, False)

    def snapshot(self) -> dict[str, Any]:
        return save_flags(self.on)

    def restore(self, data: dict[str, Any]) -> None:
        load_flags(self.on, data)

    def handlers(self) -> Handlers:
        return {
            ("output", "get_attribs"): self._attribs,
            ("output", "get_status"): lambda c: ok(c, self._status(entity_id(c, self.on))),
            ("output", "set_status"): self._set_status,
            ("output", "get_all_outputs_status"): self._bulk,
        }

    def _status(self, output_id: int) -> dict[str, Any]:
        return {"output_id": output_id, "status": "ON" if self.on[output_id] else "OFF"}

    def _attribs(self, call: Call) -> Message:
        output_id = entity_id(call, self.on)
        body = {
            "output_id": output_id,
            "name": self.names[output_id],
            "source_id": 0,
            "device_id": f"{output_id:08X}",
            "hide": False,
        }
        return ok(call, body)

    def _set_status(self, call: Call) -> Message:
        output_id = entity_id(call, self.on)
        on = on_off(call.params, {"output_id": output_id})
        if self.on[output_id] != on:
            self.on[output_id] = on
            self.core.mark_dirty()
            self.core.broadcast("output", self._status(output_id))
        return ok(call, {"output_id": output_id})

    def _bulk(self, call: Call) -> Message:
        size = self.core.inv.table_size("output")
        status = "".join("1" if self.on.get(i) else "0" for i in range(1, size + 1))
        if intish(call.params.get("block_id", 1)) != 1:
            raise Refused(E.INVALID_ID)
        return ok(call, {**self.core.block_fields(call, 1, 1), "status": status})
