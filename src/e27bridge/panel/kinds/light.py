"""Lights: a level 0-99, 0 meaning off (protocol §13.6); some are on/off switches only."""

from __future__ import annotations

from dataclasses import dataclass, replace

from e27bridge.panel.kinds.base import Found, KindSpec, StatusReader, Write, per_id
from e27bridge.protocol import models, requests


@dataclass(frozen=True, slots=True)
class Light:
    id: int
    name: str
    area_id: int | None = None
    level: int | None = None  # 0-99 (0 = off)
    # ``dimmable: false`` in ``get_attribs`` (ADR-0207): a switch that takes no level.
    dimmable: bool = True

    @property
    def on(self) -> bool | None:
        return None if self.level is None else self.level > 0


def merge(old: Light, status: models.LightStatus) -> Light:
    return old if status.level is None else replace(old, level=min(status.level, 99))


def describe(old: Light, new: Light) -> str | None:
    if old.level == new.level or new.level is None:
        return None
    return "off" if new.level == 0 else f"on, level {new.level}"


@dataclass(frozen=True, slots=True)
class SetLight:
    light_id: int
    level: int  # 0-99; 0 = off

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 99:
            raise ValueError("light level must be 0..99")


def dim(command: SetLight) -> Write:
    return Write(requests.set_light(command.light_id, command.level), command.light_id)


def build(attribs: models.Attribs, found: Found) -> Light:
    dimmable = models.as_bool(attribs.body.get("dimmable")) is not False  # unsaid: dimmable
    return Light(attribs.entity_id, attribs.name, attribs.area_id, dimmable=dimmable)


SPEC = KindSpec(
    label="lights",
    build=build,
    status=StatusReader(per_id("light", models.parse_light_status), merge),
    describe=describe,
    commands={SetLight: dim},
)
