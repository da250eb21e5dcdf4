"""Thermostats: temperature, humidity, mode, fan, setpoints (protocol §13.5)."""

from __future__ import annotations

from dataclasses import dataclass

from e27bridge.panel.kinds.base import Found, KindSpec, StatusReader, Write, merge_present, per_id
from e27bridge.protocol import models, requests


@dataclass(frozen=True, slots=True)
class Thermostat:
    id: int
    name: str
    temperature: float | None = None
    humidity: float | None = None
    mode: str | None = None
    fan_mode: str | None = None
    heat_setpoint: float | None = None
    cool_setpoint: float | None = None
    battery: int | None = None


_STATUS_FIELDS = (
    "temperature",
    "humidity",
    "mode",
    "fan_mode",
    "heat_setpoint",
    "cool_setpoint",
    "battery",
)


def merge(old: Thermostat, status: models.TstatStatus) -> Thermostat:
    return merge_present(old, status, *_STATUS_FIELDS)


_WORTH_A_LINE = ("temperature", "mode", "fan_mode", "heat_setpoint", "cool_setpoint")


def describe(old: Thermostat, new: Thermostat) -> str | None:
    changed = [
        f"{attr.replace('_', ' ')} {getattr(new, attr)}"
        for attr in _WORTH_A_LINE
        if getattr(old, attr) != getattr(new, attr) and getattr(new, attr) is not None
    ]
    return ", ".join(changed) or None


@dataclass(frozen=True, slots=True)
class SetThermostat:
    tstat_id: int
    mode: str | None = None
    fan_mode: str | None = None
    heat_setpoint: int | None = None
    cool_setpoint: int | None = None

    def __post_init__(self) -> None:
        low, high = models.SETPOINT_RANGE
        for value in (self.heat_setpoint, self.cool_setpoint):
            if value is not None and not low <= value <= high:
                raise ValueError(f"setpoints must be whole degrees in {low}..{high}")
        if all(
            v is None for v in (self.mode, self.fan_mode, self.heat_setpoint, self.cool_setpoint)
        ):
            raise ValueError("nothing to set")


def adjust(command: SetThermostat) -> Write:
    spec = requests.set_thermostat(
        command.tstat_id,
        mode=command.mode,
        fan_mode=command.fan_mode,
        heat_setpoint=command.heat_setpoint,
        cool_setpoint=command.cool_setpoint,
    )
    return Write(spec, command.tstat_id)


def build(attribs: models.Attribs, found: Found) -> Thermostat:
    return Thermostat(attribs.entity_id, attribs.name)


SPEC = KindSpec(
    label="thermostats",
    build=build,
    status=StatusReader(per_id("tstat", models.parse_tstat_status), merge),
    describe=describe,
    commands={SetThermostat: adjust},
)
