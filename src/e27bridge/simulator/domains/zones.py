"""Zones: physical condition, bypass, the bulk status string and the definition table (§13.3).

What a zone change means for its area (ready state, entry delay, alarm) is the area
module's business; it is reached through ``AreaHooks`` so this module does not import it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.config import User
from e27bridge.simulator.domains.base import Call, Core, Handlers, Message, Refused, entity_id, ok
from e27bridge.simulator.domains.eventlog import EventLog
from e27bridge.simulator.profiles import DEFINITION_BEHAVIOUR

ZONE_STATES = (
    "open",
    "closed",
    "trouble",
    "trouble_restore",
    "tamper",
    "tamper_restore",
    "low_battery",
    "battery_ok",
    "normal",
)
_HEX = "0123456789ABCDEF"


class AreaHooks(Protocol):
    """What zones need from the areas."""

    def bypass_blocked(self, area_id: int) -> bool: ...
    def zones_changed(self, area_id: int, now: float, *, bypass: bool = False) -> None: ...
    def zone_violated(self, zone_id: int, now: float) -> None: ...


class PinCheck(Protocol):
    def __call__(self, call: Call, area_ids: tuple[int, ...], body: dict[str, Any]) -> User: ...


@dataclass
class ZoneState:
    violated: bool = False
    trouble: bool = False
    tamper: bool = False
    low_batt: bool = False
    bypassed: bool = False
    rssi: int | None = None

    def condition(self) -> tuple[bool, bool, bool, bool]:
        return (self.violated, self.trouble, self.tamper, self.low_batt)


def behaviour_of(definition: str) -> str:
    return DEFINITION_BEHAVIOUR.get(definition, "instant")


class Zones:
    """Every configured zone's live state and the ``zone`` commands."""

    def __init__(self, core: Core, log: EventLog, check_pin: PinCheck, setup: random.Random):
        self.core = core
        self.log = log
        self.check_pin = check_pin
        self.areas: AreaHooks | None = None  # set by the panel once areas exist
        self.cfg = {z.id: z for z in core.inv.zones}
        self.states: dict[int, ZoneState] = {}
        for zone in core.inv.zones:
            rssi = -setup.randint(40, 85) if zone.wireless else None
            self.states[zone.id] = ZoneState(rssi=rssi)
        for zone_id in core.config.initial.open_zones:
            self.states[zone_id].violated = True

    @property
    def _areas(self) -> AreaHooks:
        assert self.areas is not None
        return self.areas

    def in_area(self, area_id: int) -> list[int]:
        return [z.id for z in self.core.inv.zones if z.area_id == area_id]

    # -- derived area facts

    def blocks_ready(self, zone_id: int) -> bool:
        state = self.states[zone_id]
        if state.bypassed or not (state.violated or state.trouble):
            return False
        return behaviour_of(self.cfg[zone_id].definition) not in ("none", "24h")

    def ready_status(self, area_id: int) -> str:
        status = "RDY_AWAY"
        for zone_id in self.in_area(area_id):
            if not self.blocks_ready(zone_id):
                continue
            if behaviour_of(self.cfg[zone_id].definition) in (
                "interior",
                "follower",
                "interior_delay",
            ):
                status = "RDY_STAY"
            else:
                return "RDY_NOT"
        return status

    def troubles(self, area_id: int) -> tuple[str, ...]:
        out: list[str] = []
        for zone_id in self.in_area(area_id):
            state = self.states[zone_id]
            for flag, word in (
                (state.trouble, "trouble"),
                (state.tamper, "tamper"),
                (state.low_batt, "low battery"),
            ):
                if flag:
                    out.append(f"zone {zone_id} {word}")
        return tuple(out)

    # -- control hook

    def set_zone(self, zone_id: int, state: str, now: float) -> None:
        """Change a zone's physical condition (one of ``ZONE_STATES``)."""
        if zone_id not in self.states:
            raise ValueError(f"zone {zone_id} is not configured")
        if state not in ZONE_STATES:
            raise ValueError(f"zone state must be one of {', '.join(ZONE_STATES)}")
        zone = self.states[zone_id]
        before = zone.condition()
        if state in ("open", "closed"):
            zone.violated = state == "open"
        elif state in ("trouble", "trouble_restore"):
            zone.trouble = state == "trouble"
        elif state in ("tamper", "tamper_restore"):
            zone.tamper = state == "tamper"
        elif state in ("low_battery", "battery_ok"):
            zone.low_batt = state == "low_battery"
        else:  # normal
            zone.violated = zone.trouble = zone.tamper = zone.low_batt = False
        if zone.condition() == before:
            return
        self.core.broadcast("zone", self.status(zone_id))
        if zone.condition()[1:] != before[1:]:
            self.log.append(now, f"Zone {zone_id} {state.replace('_', ' ')}")
        self._areas.zones_changed(self.cfg[zone_id].area_id, now)
        if (zone.violated and not before[0]) or (zone.tamper and not before[2]):
            self._areas.zone_violated(zone_id, now)

    # -- persistence

    def snapshot(self) -> dict[str, Any]:
        return {"bypassed": sorted(z for z, s in self.states.items() if s.bypassed)}

    def restore(self, data: dict[str, Any]) -> None:
        for zone_id in data.get("bypassed", []):
            if zone_id in self.states:
                self.states[zone_id].bypassed = True

    # -- commands

    def handlers(self) -> Handlers:
        return {
            ("zone", "get_attribs"): self._attribs,
            ("zone", "get_status"): lambda c: ok(c, self.status(entity_id(c, self.states))),
            ("zone", "set_status"): self._set_status,
            ("zone", "get_all_zones_status"): self._bulk,
            ("zone", "get_defs"): self._defs,
            ("zone", "get_def_flags"): self._def_flags,
        }

    def status(self, zone_id: int) -> dict[str, Any]:
        state = self.states[zone_id]
        if state.tamper:
            secure = "TAMPER"
        elif state.violated:
            secure = "VIOLATED"
        elif state.trouble:
            secure = "TROUBLE"
        else:
            secure = "NORMAL"
        body: dict[str, Any] = {
            "zone_id": zone_id,
            "secure_state": secure,
            "contact_state": "OPEN" if state.violated else "CLOSED",
            "BYPASSED": state.bypassed,
            "low_batt": state.low_batt,
        }
        if state.rssi is not None:
            body["rssi"] = state.rssi
        return body

    def _char(self, zone_id: int) -> str:
        cfg = self.cfg.get(zone_id)
        if cfg is None or cfg.definition == "UNDEFINED":
            return "0"
        state = self.states[zone_id]
        physical = 1 if state.violated else 2
        if state.bypassed:
            logical = 3
        elif state.violated:
            logical = 2
        elif state.trouble or state.tamper:
            logical = 1
        else:
            logical = 0
        return _HEX[logical * 4 + physical]

    def _attribs(self, call: Call) -> Message:
        zone_id = entity_id(call, self.states)
        cfg = self.cfg[zone_id]
        body = {
            "zone_id": zone_id,
            "name": cfg.name,
            "area_id": cfg.area_id,
            "definition": cfg.definition,
            "flags": [{"bypassable": cfg.bypassable}, {"wireless": cfg.wireless}],
        }
        return ok(call, body)

    def _set_status(self, call: Call) -> Message:
        zone_id = entity_id(call, self.states)
        ids = {"zone_id": zone_id}
        cfg = self.cfg[zone_id]
        bypass = call.params.get("BYPASSED")
        if not isinstance(bypass, bool):
            raise Refused(E.INVALID_PARAM, ids)
        user = self.check_pin(call, (cfg.area_id,), ids)
        if not cfg.bypassable or cfg.definition == "UNDEFINED":
            raise Refused(E.NOT_BYPASSABLE, ids)
        if self._areas.bypass_blocked(cfg.area_id):
            raise Refused(E.NOT_ALLOWED_WHEN_ARMED, ids)
        state = self.states[zone_id]
        if state.bypassed != bypass:
            state.bypassed = bypass
            self.core.mark_dirty()
            word = "bypassed" if bypass else "unbypassed"
            self.log.append(call.now, f"Zone {zone_id} {word} by user {user.id}")
            self.core.broadcast("zone", self.status(zone_id))
            self._areas.zones_changed(cfg.area_id, call.now, bypass=True)
        return ok(call, ids)

    def _bulk(self, call: Call) -> Message:
        size = self.core.inv.table_size("zone")
        return ok(call, {"status": "".join(self._char(z) for z in range(1, size + 1))})

    def _defs(self, call: Call) -> Message:
        fields, chunk = self.core.page(call, list(self.core.inv.definitions))
        return ok(call, {**fields, "definitions": chunk})

    def _def_flags(self, call: Call) -> Message:
        definition = call.params.get("definition")
        if not isinstance(definition, str) or definition not in self.core.inv.definitions:
            raise Refused(E.INVALID_PARAM)
        behaviour = behaviour_of(definition)
        flags = [{"behaviour": behaviour}, {"always_active": behaviour == "24h"}]
        return ok(call, {"definition": definition, "flags": flags})
