"""Area alarm logic: what a violated zone does in each arm state, entry delay, alarm memory.

Alarm memory (ADR-0205): when an alarm starts its kind joins the area's ``alarm_mem``;
disarming ends the alarm but keeps the memory, which the next arm (or a disarm of an
already disarmed area) clears.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from e27bridge.simulator.domains.base import Core
from e27bridge.simulator.domains.eventlog import EventLog
from e27bridge.simulator.domains.zones import Zones, behaviour_of
from e27bridge.simulator.profiles import DEFINITION_ALARM

DISARMED = "DISARMED"
ARMED_AWAY = "ARMED_AWAY"
ARMED_STAY = "ARMED_STAY"
ARM_STATES = (DISARMED, ARMED_AWAY, ARMED_STAY)
NO_ALARM = "NO_ALARM_ACTIVE"
_INTERIOR = ("interior", "follower", "interior_delay")


@dataclass
class AreaState:
    name: str
    arm_state: str = DISARMED
    target: str = DISARMED  # arm_cmd_state
    delay: str | None = None  # "exit" | "entry"
    delay_until: float = 0.0
    delay_zone: int | None = None
    next_tick: float = math.inf  # next ee_timer countdown broadcast
    alarm_state: str = NO_ALARM
    alarm_zone: int | None = None
    alarm_mem: list[str] = field(default_factory=list)
    chime: bool = False
    ready: str = "RDY_AWAY"
    troubles: tuple[str, ...] = ()


class Alarms:
    """Starts entry delays and alarms for the areas in ``states``."""

    def __init__(
        self,
        core: Core,
        log: EventLog,
        zones: Zones,
        states: dict[int, AreaState],
        broadcast: Callable[[int, float], None],
    ) -> None:
        self.core = core
        self.log = log
        self.zones = zones
        self.states = states
        self.broadcast = broadcast

    def start_delay(self, area: AreaState, kind: str, panel_seconds: float, now: float) -> None:
        area.delay = kind
        area.delay_until = now + self.core.scaled(panel_seconds)
        interval = self.core.config.timings.countdown_interval
        area.next_tick = now + self.core.scaled(interval) if interval > 0 else math.inf

    def zone_violated(self, zone_id: int, now: float) -> None:
        """Alarm logic for a zone that just became violated (or tampered)."""
        cfg = self.zones.cfg[zone_id]
        if self.zones.states[zone_id].bypassed:
            return
        behaviour = behaviour_of(cfg.definition)
        area = self.states[cfg.area_id]
        if behaviour == "24h":
            self.start_alarm(cfg.area_id, zone_id, self.alarm_kind(zone_id), now)
            return
        if behaviour == "none" or area.arm_state == DISARMED:
            return
        if behaviour in _INTERIOR and area.arm_state != ARMED_AWAY:
            return
        if behaviour in ("delay", "interior_delay"):
            if area.delay is None and area.alarm_state == NO_ALARM:
                self.start_delay(area, "entry", self.core.config.timings.entry_delay, now)
                area.delay_zone = area.alarm_zone = zone_id
                self.log.append(now, f"Area {cfg.area_id} entry delay zone {zone_id}")
                self.broadcast(cfg.area_id, now)
            return
        if behaviour == "follower" and area.delay == "entry":
            return
        self.start_alarm(cfg.area_id, zone_id, "BURGLARY", now)

    def trigger_alarm(self, area_id: int, zone_id: int | None, now: float) -> None:
        if area_id not in self.states:
            raise ValueError(f"area {area_id} is not configured")
        if zone_id is not None and zone_id not in self.zones.states:
            raise ValueError(f"zone {zone_id} is not configured")
        kind = "BURGLARY" if zone_id is None else self.alarm_kind(zone_id)
        self.start_alarm(area_id, zone_id, kind, now)

    def alarm_kind(self, zone_id: int) -> str:
        return DEFINITION_ALARM.get(self.zones.cfg[zone_id].definition, "BURGLARY")

    def start_alarm(self, area_id: int, zone_id: int | None, kind: str, now: float) -> None:
        area = self.states[area_id]
        if area.alarm_state != NO_ALARM:
            return
        area.delay = None if area.delay == "entry" else area.delay
        area.alarm_state = kind
        area.alarm_zone = zone_id
        if kind not in area.alarm_mem:
            area.alarm_mem.append(kind)
            self.core.mark_dirty()
        where = f" zone {zone_id}" if zone_id is not None else ""
        self.log.append(now, f"Area {area_id} {kind.lower()} alarm{where}")
        self.broadcast(area_id, now)
