"""Barriers (garage doors, gates): position, tamper, battery (protocol §13.8)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from e27bridge.panel.kinds.base import Found, KindSpec, StatusReader, Write, merge_present, per_id
from e27bridge.protocol import models, requests


class BarrierPosition(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    OPENING = "opening"
    CLOSING = "closing"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Barrier:
    id: int
    name: str
    area_id: int | None = None
    position: BarrierPosition = BarrierPosition.UNKNOWN
    tamper: bool = False
    low_battery: bool = False


_POSITIONS = {
    "OPEN": BarrierPosition.OPEN,
    "CLOSE": BarrierPosition.CLOSED,
    "CLOSED": BarrierPosition.CLOSED,
    "OPENING": BarrierPosition.OPENING,
    "CLOSING": BarrierPosition.CLOSING,
    "STOPPED": BarrierPosition.STOPPED,
}


def merge(old: Barrier, status: models.BarrierStatus) -> Barrier:
    position = old.position
    if status.status is not None:
        position = _POSITIONS.get(status.status.strip().upper(), BarrierPosition.UNKNOWN)
    return replace(merge_present(old, status, "tamper", "low_battery"), position=position)


def describe(old: Barrier, new: Barrier) -> str | None:
    return new.position.value if old.position != new.position else None


class BarrierAction(enum.Enum):
    OPEN = "open"
    CLOSE = "close"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class OperateBarrier:
    barrier_id: int
    action: BarrierAction


def operate(command: OperateBarrier) -> Write:
    spec = requests.operate_barrier(command.barrier_id, command.action.value)
    return Write(spec, command.barrier_id)


def build(attribs: models.Attribs, found: Found) -> Barrier:
    return Barrier(attribs.entity_id, attribs.name, attribs.area_id)


SPEC = KindSpec(
    label="barriers",
    build=build,
    status=StatusReader(per_id("barrier", models.parse_barrier_status), merge),
    describe=describe,
    commands={OperateBarrier: operate},
)
