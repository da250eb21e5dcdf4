"""Thermostats: temperature, humidity, mode, fan, setpoints (protocol §13.5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
    # What ``get_attribs`` reports (ADR-0208), else the vendor's examples: °F, and no
    # limits of its own (the reference's sanity range applies).
    unit: TempUnit = "F"
    setpoint_range: tuple[int, int] | None = None  # whole degrees the panel accepts


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


TempUnit = Literal["F", "C"]


def _unit(value: Any) -> TempUnit:
    text = value.strip().upper() if isinstance(value, str) else ""
    return "C" if text in ("C", "°C", "CELSIUS") else "F"


def _setpoint_range(body: Mapping[str, Any]) -> tuple[int, int] | None:
    """The reported limits, when both are whole degrees inside the reference's range."""
    low, high = models.as_int(body.get("setpoint_min")), models.as_int(body.get("setpoint_max"))
    floor, ceiling = models.SETPOINT_RANGE
    if low is None or high is None or not floor <= low <= high <= ceiling:
        return None
    return (low, high)


def build(attribs: models.Attribs, found: Found) -> Thermostat:
    body = attribs.body
    return Thermostat(
        attribs.entity_id,
        attribs.name,
        unit=_unit(body.get("units")),
        setpoint_range=_setpoint_range(body),
    )


SPEC = KindSpec(
    label="thermostats",
    build=build,
    status=StatusReader(per_id("tstat", models.parse_tstat_status), merge),
    describe=describe,
    commands={SetThermostat: adjust},
)
