"""Pure state updates: apply one decoded panel message to a snapshot, producing events.

Replies and broadcasts use the same shapes, so one function serves both; every message is
a partial update (only fields that are present change).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from e27bridge.panel.events import EngineEvent, EntityChanged, PanelEvent, TroublesChanged
from e27bridge.panel.state import (
    Area,
    ArmMode,
    Barrier,
    BarrierPosition,
    EntityKind,
    Light,
    Lock,
    Output,
    PanelSnapshot,
    Thermostat,
    Zone,
    changed_fields,
)
from e27bridge.protocol import models
from e27bridge.protocol.messages import Inbound

_ARM = {
    "DISARMED": ArmMode.DISARMED,
    "ARMED_AWAY": ArmMode.ARMED_AWAY,
    "ARMED_STAY": ArmMode.ARMED_STAY,
}
_STATUS_COMMANDS = frozenset({"get_status", "set_status", "set_arm_state"})


class Reduction:
    """Accumulates a new snapshot and the events that lead to it."""

    def __init__(self, snapshot: PanelSnapshot) -> None:
        self.snapshot = snapshot
        self.events: list[EngineEvent] = []

    def put(self, kind: EntityKind, new: Any) -> None:
        entities = self.snapshot.entities(kind)
        old = entities.get(new.id)
        if old == new:
            return
        updated = dict(entities)
        updated[new.id] = new
        self.snapshot = self.snapshot.with_entities(kind, updated)
        self.events.append(
            EntityChanged(self.snapshot.panel_id, kind, new.id, old, new, changed_fields(old, new))
        )

    def remove_missing(self, kind: EntityKind, keep: set[int]) -> None:
        entities = self.snapshot.entities(kind)
        gone = [i for i in entities if i not in keep]
        if not gone:
            return
        self.snapshot = self.snapshot.with_entities(
            kind, {i: e for i, e in entities.items() if i in keep}
        )
        for entity_id in gone:
            old = entities[entity_id]
            self.events.append(
                EntityChanged(
                    self.snapshot.panel_id, kind, entity_id, old, None, changed_fields(old, None)
                )
            )

    def set_troubles(self, troubles: tuple[str, ...]) -> None:
        old = self.snapshot.troubles
        if old == troubles:
            return
        self.snapshot = replace(self.snapshot, troubles=troubles)
        self.events.append(TroublesChanged(self.snapshot.panel_id, old, troubles))
        for name in sorted(set(troubles) - set(old)):
            self.emit("trouble", trouble=name, active=True)
        for name in sorted(set(old) - set(troubles)):
            self.emit("trouble", trouble=name, active=False)

    def emit(self, event_type: str, **data: Any) -> None:
        self.events.append(PanelEvent(self.snapshot.panel_id, event_type, data))


def apply_message(reduction: Reduction, message: Inbound) -> None:
    """Apply one message; unknown routes are ignored, malformed bodies raise."""
    if message.domain is None or message.command is None or message.error_code:
        return
    handler = _HANDLERS.get((message.domain, message.command))
    if handler is None and message.command in _STATUS_COMMANDS:
        handler = _STATUS_HANDLERS.get(message.domain)
    if handler is not None:
        handler(reduction, message.body)


def _known(entities: Mapping[int, Any], entity_id: int) -> Any:
    return entities.get(entity_id)


def apply_area_status(r: Reduction, body: dict[str, Any]) -> None:
    if "area_id" not in body:
        return
    status = models.parse_area_status(body)
    old: Area | None = _known(r.snapshot.areas, status.area_id)
    if old is None:
        return
    new = replace(
        old,
        arm_state=_ARM.get(status.arm_state or "", old.arm_state),
        arm_cmd_state=_ARM.get(status.arm_cmd_state or "", old.arm_cmd_state),
        ready_status=status.ready_status if status.ready_status is not None else old.ready_status,
        ready=status.ready if status.ready_status is not None else old.ready,
        ee_timer=status.ee_timer if status.ee_timer is not None else old.ee_timer,
        alarm_zone=status.alarm_zone if status.alarm_zone is not None else old.alarm_zone,
        alarm_active=status.alarm_active if status.alarm_active is not None else old.alarm_active,
        alarm_type=status.alarm_state
        if status.alarm_active
        else (None if status.alarm_active is False else old.alarm_type),
        chime=status.chime if status.chime is not None else old.chime,
        zones_bypassed=status.zones_bypassed
        if status.zones_bypassed is not None
        else old.zones_bypassed,
        troubles=status.troubles if status.troubles is not None else old.troubles,
    )
    r.put(EntityKind.AREA, new)
    if old.arm_state is not None and new.arm_state != old.arm_state and new.arm_state is not None:
        r.emit(
            "armed" if new.arm_state is not ArmMode.DISARMED else "disarmed",
            area=new.id,
            mode=new.arm_state.value,
        )
    if new.alarm_active and not old.alarm_active:
        r.emit("alarm", area=new.id, zone=new.alarm_zone or None, type=new.alarm_type)


def apply_area_troubles(r: Reduction, body: dict[str, Any]) -> None:
    area_id = models.as_int(body.get("area_id"))
    troubles = models.parse_troubles(body.get("troubles"))
    old = r.snapshot.areas.get(area_id or 0)
    if old is not None and troubles is not None:
        r.put(EntityKind.AREA, replace(old, troubles=troubles))


def apply_zone_status(r: Reduction, body: dict[str, Any]) -> None:
    if "zone_id" not in body:
        return
    status = models.parse_zone_status(body)
    old: Zone | None = _known(r.snapshot.zones, status.zone_id)
    if old is None:
        return
    fields = ("violated", "trouble", "tamper", "alarm", "bypassed", "low_battery", "rssi")
    new = _merge(old, status, *fields)
    new = replace(new, enabled=True if old.enabled is None else old.enabled)
    r.put(EntityKind.ZONE, new)
    if old.bypassed is not None and new.bypassed != old.bypassed:
        r.emit("bypass", zone=new.id, bypassed=new.bypassed)


def apply_zone_bulk(r: Reduction, body: dict[str, Any]) -> None:
    for zone_id, status in models.decode_zone_bulk(body.get("status")).items():
        old: Zone | None = _known(r.snapshot.zones, zone_id)
        if old is None:
            continue
        new = replace(
            old,
            status_code=status.code,
            enabled=status.enabled,
            violated=status.violated,
            trouble=status.trouble,
            bypassed=status.bypassed,
        )
        r.put(EntityKind.ZONE, new)
        if old.bypassed is not None and new.bypassed != old.bypassed:
            r.emit("bypass", zone=new.id, bypassed=new.bypassed)


def apply_output_status(r: Reduction, body: dict[str, Any]) -> None:
    if "output_id" not in body:
        return
    status = models.parse_output_status(body)
    old: Output | None = _known(r.snapshot.outputs, status.entity_id)
    if old is not None and status.on is not None:
        r.put(EntityKind.OUTPUT, replace(old, on=status.on))


def apply_output_bulk(r: Reduction, body: dict[str, Any]) -> None:
    for output_id, on in models.decode_output_bulk(body.get("status")).items():
        old: Output | None = _known(r.snapshot.outputs, output_id)
        if old is not None:
            r.put(EntityKind.OUTPUT, replace(old, on=on))


def apply_light_status(r: Reduction, body: dict[str, Any]) -> None:
    if "light_id" not in body:
        return
    status = models.parse_light_status(body)
    old: Light | None = _known(r.snapshot.lights, status.light_id)
    if old is not None and status.level is not None:
        r.put(EntityKind.LIGHT, replace(old, level=min(status.level, 99)))


def apply_lock_status(r: Reduction, body: dict[str, Any]) -> None:
    if "lock_id" not in body:
        return
    status = models.parse_lock_status(body)
    old: Lock | None = _known(r.snapshot.locks, status.entity_id)
    if old is not None and status.on is not None:
        r.put(EntityKind.LOCK, replace(old, locked=status.on))


_POSITIONS = {
    "OPEN": BarrierPosition.OPEN,
    "CLOSE": BarrierPosition.CLOSED,
    "CLOSED": BarrierPosition.CLOSED,
    "OPENING": BarrierPosition.OPENING,
    "CLOSING": BarrierPosition.CLOSING,
    "STOPPED": BarrierPosition.STOPPED,
}


def apply_barrier_status(r: Reduction, body: dict[str, Any]) -> None:
    if "barrier_id" not in body:
        return
    status = models.parse_barrier_status(body)
    old: Barrier | None = _known(r.snapshot.barriers, status.barrier_id)
    if old is None:
        return
    position = old.position
    if status.status is not None:
        position = _POSITIONS.get(status.status.strip().upper(), BarrierPosition.UNKNOWN)
    merged = _merge(old, status, "tamper", "low_battery")
    r.put(EntityKind.BARRIER, replace(merged, position=position))


def apply_tstat_status(r: Reduction, body: dict[str, Any]) -> None:
    if "tstat_id" not in body:
        return
    status = models.parse_tstat_status(body)
    old: Thermostat | None = _known(r.snapshot.tstats, status.tstat_id)
    if old is None:
        return
    fields = ("temperature", "humidity", "mode", "fan_mode", "heat_setpoint", "cool_setpoint")
    r.put(EntityKind.TSTAT, _merge(old, status, *fields, "battery"))


def apply_system_troubles(r: Reduction, body: dict[str, Any]) -> None:
    troubles = models.parse_troubles(body.get("troubles"))
    if troubles is not None:
        r.set_troubles(tuple(sorted(set(troubles))))


E = TypeVar("E")


def _merge(old: E, status: Any, *names: str) -> E:
    """Partial update: the named fields the panel sent (not None) replace the old values."""
    changes = {n: v for n in names if (v := getattr(status, n)) is not None}
    return replace(old, **changes) if changes else old  # type: ignore[type-var]


_STATUS_HANDLERS: dict[str, Callable[[Reduction, dict[str, Any]], None]] = {
    "area": apply_area_status,
    "zone": apply_zone_status,
    "output": apply_output_status,
    "light": apply_light_status,
    "lock": apply_lock_status,
    "barrier": apply_barrier_status,
    "tstat": apply_tstat_status,
}
_HANDLERS: dict[tuple[str, str], Callable[[Reduction, dict[str, Any]], None]] = {
    ("area", "get_troubles"): apply_area_troubles,
    ("area", "get_trouble"): apply_area_troubles,
    ("zone", "get_all_zones_status"): apply_zone_bulk,
    ("output", "get_all_outputs_status"): apply_output_bulk,
    ("system", "get_trouble"): apply_system_troubles,
    ("system", "get_troubles"): apply_system_troubles,
}
