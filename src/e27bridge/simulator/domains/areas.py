"""Areas: arming with exit delay, status with alarms and alarm memory, chime (§13.2).

What a violated zone does is alarms.py; ``behaviour.alarm_fields`` picks the format of
``alarms`` / ``alarm_mem`` (ADR-0205).
"""

from __future__ import annotations

from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.domains.alarms import (
    ARM_STATES,
    ARMED_AWAY,
    DISARMED,
    NO_ALARM,
    Alarms,
    AreaState,
)
from e27bridge.simulator.domains.base import Call, Core, Handlers, Message, Refused, entity_id, ok
from e27bridge.simulator.domains.eventlog import EventLog
from e27bridge.simulator.domains.zones import PinCheck, Zones


class Areas:
    """Every area's live state, the ``area`` commands and the alarm logic zones call into."""

    def __init__(self, core: Core, log: EventLog, zones: Zones, check_pin: PinCheck) -> None:
        self.core = core
        self.log = log
        self.zones = zones
        self.check_pin = check_pin
        self.states = {a.id: AreaState(a.name) for a in core.inv.areas}
        for area_id, area in self.states.items():
            area.ready = zones.ready_status(area_id)
            area.troubles = zones.troubles(area_id)
        self.alarms = Alarms(core, log, zones, self.states, self.broadcast)
        self.zone_violated = self.alarms.zone_violated
        self.trigger_alarm = self.alarms.trigger_alarm

    def any_armed(self) -> bool:
        return any(a.arm_state != DISARMED or a.delay == "exit" for a in self.states.values())

    # -- hooks for zones (AreaHooks)

    def bypass_blocked(self, area_id: int) -> bool:
        area = self.states[area_id]
        return area.arm_state != DISARMED or area.delay is not None

    def zones_changed(self, area_id: int, now: float, *, bypass: bool = False) -> None:
        """Recompute derived area fields after a zone change; broadcast what changed."""
        area = self.states[area_id]
        troubles = self.zones.troubles(area_id)
        if troubles != area.troubles:
            area.troubles = troubles
            body = {"area_id": area_id, "troubles": list(troubles)}
            self.core.broadcast("area", body, "get_troubles")
        ready = self.zones.ready_status(area_id)
        if ready != area.ready or bypass:
            area.ready = ready
            self.broadcast(area_id, now)

    # -- timers

    def advance(self, now: float) -> None:
        for area_id, area in self.states.items():
            if area.delay is not None and area.delay_until <= now:
                if area.delay == "exit":
                    self._arm(area_id, area.target, now)
                else:
                    zone_id = area.delay_zone
                    area.delay = area.delay_zone = None
                    self.alarms.start_alarm(area_id, zone_id, "BURGLARY", now)
            elif area.delay is not None and area.next_tick <= now:
                step = self.core.scaled(self.core.config.timings.countdown_interval)
                while area.next_tick <= now:
                    area.next_tick += step
                self.broadcast(area_id, now)

    def deadlines(self) -> list[float]:
        return [min(a.delay_until, a.next_tick) for a in self.states.values() if a.delay]

    # -- persistence

    def snapshot(self) -> dict[str, Any]:
        return {
            str(area_id): {
                "arm_state": area.target if area.delay == "exit" else area.arm_state,
                "chime": area.chime,
                "alarm_mem": list(area.alarm_mem),
            }
            for area_id, area in self.states.items()
        }

    def restore(self, data: dict[str, Any]) -> None:
        for key, saved in data.items():
            area = self.states.get(int(key))
            if area is None:
                continue
            arm = saved.get("arm_state", DISARMED)
            area.arm_state = area.target = arm if arm in ARM_STATES else DISARMED
            area.chime = bool(saved.get("chime", False))
            area.alarm_mem = [str(kind) for kind in saved.get("alarm_mem", [])]

    # -- status

    def status(self, area_id: int, now: float) -> dict[str, Any]:
        area = self.states[area_id]
        timer = self.core.seconds_left(area.delay_until, now) if area.delay else 0
        behaviour = self.core.config.behaviour
        active = [] if area.alarm_state == NO_ALARM else [area.alarm_state]
        if behaviour.alarm_fields == "bool":
            alarms: Any = bool(active)
            memory: Any = bool(area.alarm_mem)
        else:
            alarms, memory = active, list(area.alarm_mem)
        alarm_state = {"alarm_state": area.alarm_state} if behaviour.send_alarm_state else {}
        return {
            "area_id": area_id,
            "arm_state": area.arm_state,
            "arm_cmd_state": area.target,
            "ready_status": area.ready,
            **alarm_state,
            "alarm_zone": "" if area.alarm_zone is None else str(area.alarm_zone),
            "alarms": alarms,
            "alarm_mem": memory,
            "ee_timer": timer,
            "zones_bypassed": sum(1 for z in self.zones.in_area(area_id) if self._bypassed(z)),
            "Chime": area.chime,
            "chime_count": 0,
            "troubles": list(area.troubles),
        }

    def _bypassed(self, zone_id: int) -> bool:
        return self.zones.states[zone_id].bypassed

    def broadcast(self, area_id: int, now: float) -> None:
        self.core.broadcast("area", self.status(area_id, now))

    # -- commands

    def handlers(self) -> Handlers:
        return {
            ("area", "get_attribs"): self._attribs,
            ("area", "get_status"): lambda c: ok(c, self.status(entity_id(c, self.states), c.now)),
            ("area", "set_status"): self._set_chime,
            ("area", "set_arm_state"): self._set_arm_state,
            ("area", "get_troubles"): self._troubles,
            ("area", "get_trouble"): self._troubles,
            ("area", "set_alarm_state"): self._set_alarm_state,
            ("area", "get_bypassed_zones"): self._zone_list,
            ("area", "get_unsecure_zones"): self._zone_list,
            ("area", "get_num_not_rdy_zones"): self._not_ready_count,
        }

    def _attribs(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        timings = self.core.config.timings
        body = {
            "area_id": area_id,
            "name": self.states[area_id].name,
            "flags": [],
            "kp_single_key_arm": False,
            "entry1_time": int(timings.entry_delay),
            "exit_time": int(timings.exit_delay),
            "ext_entry_time": int(timings.entry_delay) * 2,
            "aa_warn_mins": 0,
            "auto_arm_time": 0,
            "auto_arm_level": 0,
            "sounder": 1,
        }
        return ok(call, body)

    def _set_chime(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        chime = call.params.get("Chime")
        if not isinstance(chime, bool):
            raise Refused(E.INVALID_PARAM, {"area_id": area_id})
        area = self.states[area_id]
        if area.chime != chime:
            area.chime = chime
            self.core.mark_dirty()
            self.broadcast(area_id, call.now)
        return ok(call, {"area_id": area_id})

    def _set_arm_state(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        ids = {"area_id": area_id}
        raw_state = call.params.get("arm_state")
        target = raw_state.upper() if isinstance(raw_state, str) else None
        if target not in ARM_STATES:
            raise Refused(E.INVALID_PARAM, ids)
        user = self.check_pin(call, (area_id,), ids)
        area = self.states[area_id]
        now = call.now
        if target == DISARMED:
            self._disarm(area_id, user.id, now)
            return ok(call, ids)
        if area.alarm_state != NO_ALARM:
            raise Refused(E.IN_ALARM, ids)
        if area.arm_state == target or (area.delay == "exit" and area.target == target):
            return ok(call, ids)
        if area.arm_state == DISARMED and area.delay is None:
            needed = ("RDY_AWAY",) if target == ARMED_AWAY else ("RDY_AWAY", "RDY_STAY")
            if area.ready not in needed:
                raise Refused(E.NOT_READY, ids)
        timings = self.core.config.timings
        skip_delay = call.params.get("exit_delay_cancel") is True or timings.exit_delay <= 0
        self.log.append(now, f"Area {area_id} {target.lower().replace('_', ' ')} by user {user.id}")
        area.alarm_mem.clear()
        if area.arm_state != DISARMED or skip_delay:
            area.delay = None
            self._arm(area_id, target, now)
        else:
            area.target = target
            self.core.mark_dirty()
            self.alarms.start_delay(area, "exit", timings.exit_delay, now)
            self.broadcast(area_id, now)
        return ok(call, ids)

    def _arm(self, area_id: int, target: str, now: float) -> None:
        area = self.states[area_id]
        area.arm_state = area.target = target
        area.delay = None
        self.core.mark_dirty()
        self.log.append(now, f"Area {area_id} armed {target.split('_')[1].lower()}")
        area.ready = self.zones.ready_status(area_id)
        self.broadcast(area_id, now)
        # Zones left open at the end of the exit delay count as violated now.
        for zone_id in self.zones.in_area(area_id):
            if self.zones.states[zone_id].violated:
                self.alarms.zone_violated(zone_id, now)

    def _disarm(self, area_id: int, user_id: int, now: float) -> None:
        area = self.states[area_id]
        changed = (
            area.arm_state != DISARMED
            or area.delay is not None
            or area.alarm_state != NO_ALARM
            or area.target != DISARMED
        )
        if not changed and area.alarm_mem:  # a second disarm acknowledges the memory
            area.alarm_mem.clear()
            self.core.mark_dirty()
            self.broadcast(area_id, now)
            return
        area.arm_state = area.target = DISARMED
        area.delay = area.delay_zone = area.alarm_zone = None
        area.alarm_state = NO_ALARM
        if changed:
            self.core.mark_dirty()
            self.log.append(now, f"Area {area_id} disarmed by user {user_id}")
            area.ready = self.zones.ready_status(area_id)
            self.broadcast(area_id, now)

    def _troubles(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        return ok(call, {"area_id": area_id, "troubles": list(self.states[area_id].troubles)})

    def _set_alarm_state(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        event = call.params.get("alarm_event")
        if not isinstance(event, str) or not event.strip():
            raise Refused(E.INVALID_PARAM, {"area_id": area_id})
        self.alarms.start_alarm(area_id, None, event.upper(), call.now)
        return ok(call, {"area_id": area_id}, command="set_status")

    def _zone_list(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        states = self.zones.states
        if call.command == "get_bypassed_zones":
            zones = [z for z in self.zones.in_area(area_id) if states[z].bypassed]
        else:
            zones = [
                z
                for z in self.zones.in_area(area_id)
                if states[z].violated and not states[z].bypassed
            ]
        return ok(call, {"area_id": area_id, "zones": zones})

    def _not_ready_count(self, call: Call) -> Message:
        area_id = entity_id(call, self.states)
        count = sum(1 for z in self.zones.in_area(area_id) if self.zones.blocks_ready(z))
        return ok(call, {"area_id": area_id, "num_not_ready_zones": count})
