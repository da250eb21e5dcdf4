"""Lights: Z-Wave switches and dimmers; ``get_status`` carries only ``level`` (§13.6).

A light configured ``dimmable = false`` refuses a dimming level (1..98) with 11004 and
accepts on/off (level 0, 99 or 100, or ``status`` alone); ADR-0207.
"""

from __future__ import annotations

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

FULL = 99


class Lights:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.items = {light.id: light for light in core.inv.lights}
        self.level: dict[int, int] = dict.fromkeys(self.items, 0)
        self.last_on: dict[int, int] = dict.fromkeys(self.items, FULL)

    def snapshot(self) -> dict[str, Any]:
        return {str(k): [self.level[k], self.last_on[k]] for k in self.items}

    def restore(self, data: dict[str, Any]) -> None:
        for key, (level, last_on) in data.items():
            if int(key) in self.items:
                self.level[int(key)] = int(level)
                self.last_on[int(key)] = int(last_on)

    def handlers(self) -> Handlers:
        return {
            ("light", "get_attribs"): lambda c: device_attribs(
                c, self.items, dimmable=self.items[entity_id(c, self.items)].dimmable
            ),
            ("light", "get_status"): self._get_status,
            ("light", "set_status"): self._set_status,
        }

    def _get_status(self, call: Call) -> Message:
        light_id = entity_id(call, self.items)
        return ok(call, {"light_id": light_id, "level": self.level[light_id]})

    @staticmethod
    def _params(call: Call, ids: dict[str, Any]) -> tuple[bool | None, int | None]:
        status = call.params.get("status")
        level = call.params.get("level")
        if status is None and level is None:
            raise Refused(E.INVALID_PARAM, ids)
        if status is not None and (
            not isinstance(status, str) or status.upper() not in ("ON", "OFF")
        ):
            raise Refused(E.INVALID_PARAM, ids)
        if level is not None and (
            isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 100
        ):
            raise Refused(E.INVALID_PARAM, ids)
        return (None if status is None else status.upper() == "ON"), level

    def _set_status(self, call: Call) -> Message:
        light_id = entity_id(call, self.items)
        ids = {"light_id": light_id}
        on, level = self._params(call, ids)
        if level is not None and 0 < level < FULL and not self.items[light_id].dimmable:
            raise Refused(E.INVALID_PARAM, ids)
        self.core.zwave_busy(ids)
        current = self.level[light_id]
        if on is False:
            new = 0
        elif level is not None:
            new = min(level, FULL)
        else:
            new = current or self.last_on[light_id]
        if new:
            self.last_on[light_id] = new
        if new != current:
            self.level[light_id] = new
            self.core.mark_dirty()
            self.core.device_report("light", {"light_id": light_id, "level": new}, call.now)
        return ok(call, ids)
