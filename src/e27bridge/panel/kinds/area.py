"""Areas (partitions): arm state, delays, alarms, chime (protocol §13.2)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import TypeVar

from e27bridge.panel.kinds.base import (
    STATUS_COMMANDS,
    Event,
    Found,
    KindSpec,
    StatusReader,
    Write,
    per_id,
)
from e27bridge.protocol import models, requests


class ArmMode(enum.Enum):
    DISARMED = "disarmed"
    ARMED_AWAY = "armed_away"
    ARMED_STAY = "armed_stay"

    @property
    def panel_value(self) -> str:
        return self.name


# What ``area.set_arm_state`` accepts besides DISARMED (protocol §13.2: the E27 has no
# night mode). The panel reports no list of its own, so this is where it is decided.
SETTABLE_ARM_MODES = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)


class AlarmPhase(enum.Enum):
    """What an area is doing, in the vocabulary of Home Assistant's alarm panel."""

    DISARMED = "disarmed"
    ARMING = "arming"  # exit delay running
    ARMED_AWAY = "armed_away"
    ARMED_HOME = "armed_home"
    PENDING = "pending"  # entry delay running
    TRIGGERED = "triggered"


@dataclass(frozen=True, slots=True)
class Area:
    id: int
    name: str
    arm_state: ArmMode | None = None
    arm_cmd_state: ArmMode | None = None  # target of a pending arm (exit delay)
    ready: bool | None = None
    ready_status: str | None = None
    ee_timer: int = 0
    alarm_zone: str = ""
    alarm_active: bool = False
    alarm_type: str | None = None
    # Alarm memory (``alarm_mem``, ADR-0016): None until the panel reports it; the kinds
    # only when the panel names them.
    alarm_memory: bool | None = None
    alarm_memory_kinds: tuple[str, ...] | None = None
    chime: bool | None = None
    zones_bypassed: int = 0
    troubles: tuple[str, ...] = ()

    @property
    def phase(self) -> AlarmPhase | None:
        if self.arm_state is None:
            return None
        if self.alarm_active:
            return AlarmPhase.TRIGGERED
        if self.arm_state is ArmMode.DISARMED:
            pending = self.arm_cmd_state not in (None, ArmMode.DISARMED)
            return AlarmPhase.ARMING if pending and self.ee_timer > 0 else AlarmPhase.DISARMED
        if self.ee_timer > 0 and self.alarm_zone:
            return AlarmPhase.PENDING
        return (
            AlarmPhase.ARMED_AWAY if self.arm_state is ArmMode.ARMED_AWAY else AlarmPhase.ARMED_HOME
        )


T = TypeVar("T")
_ARM = {mode.panel_value: mode for mode in ArmMode}


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


def merge(old: Area, status: models.AreaStatus) -> Area:
    if status.alarm_active:
        alarm_type = status.alarm_type
    else:
        alarm_type = None if status.alarm_active is False else old.alarm_type
    ready_known = status.ready_status is not None
    memory = status.alarm_mem
    return replace(
        old,
        arm_state=_ARM.get(status.arm_state or "", old.arm_state),
        arm_cmd_state=_ARM.get(status.arm_cmd_state or "", old.arm_cmd_state),
        ready_status=status.ready_status if ready_known else old.ready_status,
        ready=status.ready if ready_known else old.ready,
        ee_timer=_pick(status.ee_timer, old.ee_timer),
        alarm_zone=_pick(status.alarm_zone, old.alarm_zone),
        alarm_active=_pick(status.alarm_active, old.alarm_active),
        alarm_type=alarm_type,
        alarm_memory=old.alarm_memory if memory is None else memory.any,
        alarm_memory_kinds=old.alarm_memory_kinds if memory is None else memory.kinds,
        chime=_pick(status.chime, old.chime),
        zones_bypassed=_pick(status.zones_bypassed, old.zones_bypassed),
        troubles=_pick(status.troubles, old.troubles),
    )


def events(old: Area, new: Area) -> tuple[Event, ...]:
    out: list[Event] = []
    if old.arm_state is not None and new.arm_state not in (None, old.arm_state):
        assert new.arm_state is not None
        kind = "armed" if new.arm_state is not ArmMode.DISARMED else "disarmed"
        out.append((kind, {"area": new.id, "mode": new.arm_state.value}))
    if new.alarm_active and not old.alarm_active:
        zone = int(new.alarm_zone) if new.alarm_zone.isdecimal() else None  # ids are integers
        out.append(("alarm", {"area": new.id, "zone": zone, "type": new.alarm_type}))
    return tuple(out)


def describe(old: Area, new: Area) -> str | None:
    if old.phase == new.phase or new.phase is None:
        return None
    text = new.phase.value
    if new.ee_timer > 0:
        text += f" ({new.ee_timer} s)"
    if new.alarm_active and new.alarm_zone:
        text += f", zone {new.alarm_zone}"
    return text


@dataclass(frozen=True, slots=True)
class ArmArea:
    area_id: int
    mode: ArmMode
    code: int = field(repr=False)
    bypass_open: bool = False  # bypass the open zones first, undo if refused (ADR-0012)


@dataclass(frozen=True, slots=True)
class SetChime:
    area_id: int
    enabled: bool


def arm(command: ArmArea) -> Write:
    spec = requests.arm_area(command.area_id, command.mode.panel_value, command.code)
    disarm = command.mode is ArmMode.DISARMED  # never waits behind other commands
    return Write(spec, command.area_id, urgent=disarm, code=command.code)


def chime(command: SetChime) -> Write:
    return Write(requests.set_chime(command.area_id, command.enabled), command.area_id)


def build(attribs: models.Attribs, found: Found) -> Area:
    return Area(attribs.entity_id, attribs.name)


SPEC = KindSpec(
    label="areas",
    build=build,
    status=StatusReader(per_id("area", models.parse_area_status), merge),
    # ``area.get_troubles`` answers with the same body shape (only ``troubles`` set).
    status_commands=STATUS_COMMANDS | {"get_troubles", "get_trouble"},
    events=events,
    describe=describe,
    commands={ArmArea: arm, SetChime: chime},
    required=True,
)
