"""Turn a validated user command into the one request that carries it out.

Each plan names the entity it acts on, so the follow-up re-read (acks carry no state) and
the unknown-entity check are derived instead of written per command.
"""

from __future__ import annotations

from dataclasses import dataclass

from e27bridge.panel.commands import (
    ArmArea,
    BypassZone,
    Command,
    OperateBarrier,
    SetChime,
    SetLight,
    SetLock,
    SetOutput,
    SetThermostat,
)
from e27bridge.panel.queue import Priority
from e27bridge.panel.state import ArmMode, EntityKind, PanelSnapshot
from e27bridge.protocol import requests


@dataclass(frozen=True, slots=True)
class Plan:
    spec: requests.RequestSpec
    kind: EntityKind
    entity_id: int
    priority: Priority = Priority.NORMAL
    reply_timeout: float | None = None

    @property
    def reread(self) -> requests.RequestSpec:
        return requests.get_status(self.kind.value, self.entity_id)


BYPASS_TIMEOUT = 15.0  # the reference waits longer for zone bypass acks


def plan_command(snapshot: PanelSnapshot, command: Command) -> Plan:
    """Raises ``KeyError`` for an entity the panel does not have."""
    plan = _plan(command)
    if plan.entity_id not in snapshot.entities(plan.kind):
        raise KeyError(f"unknown {plan.kind.value} {plan.entity_id}")
    return plan


def _plan(command: Command) -> Plan:
    match command:
        case ArmArea(area_id=area_id, mode=mode, code=code):
            disarm = mode is ArmMode.DISARMED
            spec = requests.arm_area(area_id, mode.panel_value, code)
            return Plan(
                spec, EntityKind.AREA, area_id, Priority.HIGH if disarm else Priority.NORMAL
            )
        case SetChime(area_id=area_id, enabled=enabled):
            return Plan(requests.set_chime(area_id, enabled), EntityKind.AREA, area_id)
        case BypassZone(zone_id=zone_id, bypassed=bypassed, code=code):
            spec = requests.bypass_zone(zone_id, bypassed, code)
            return Plan(spec, EntityKind.ZONE, zone_id, reply_timeout=BYPASS_TIMEOUT)
        case SetOutput(output_id=output_id, on=on):
            return Plan(requests.set_output(output_id, on), EntityKind.OUTPUT, output_id)
        case SetLight(light_id=light_id, level=level):
            return Plan(requests.set_light(light_id, level), EntityKind.LIGHT, light_id)
        case SetLock(lock_id=lock_id, locked=locked):
            return Plan(requests.set_lock(lock_id, locked), EntityKind.LOCK, lock_id)
        case OperateBarrier(barrier_id=barrier_id, action=action):
            spec = requests.operate_barrier(barrier_id, action.value)
            return Plan(spec, EntityKind.BARRIER, barrier_id)
        case SetThermostat():
            spec = requests.set_thermostat(
                command.tstat_id,
                mode=command.mode,
                fan_mode=command.fan_mode,
                heat_setpoint=command.heat_setpoint,
                cool_setpoint=command.cool_setpoint,
            )
            return Plan(spec, EntityKind.TSTAT, command.tstat_id)
    raise ValueError(f"unsupported command {type(command).__name__}")
