"""Door locks: locked or not (protocol §13.7)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from e27bridge.panel.kinds.base import Found, KindSpec, StatusReader, Write, per_id, switched
from e27bridge.protocol import models, requests


@dataclass(frozen=True, slots=True)
class Lock:
    id: int
    name: str
    area_id: int | None = None
    locked: bool | None = None


def merge(old: Lock, status: models.OnOffStatus) -> Lock:
    return old if status.on is None else replace(old, locked=status.on)


def describe(old: Lock, new: Lock) -> str | None:
    return switched(old.locked, new.locked, "locked", "unlocked")


@dataclass(frozen=True, slots=True)
class SetLock:
    lock_id: int
    locked: bool


def lock(command: SetLock) -> Write:
    return Write(requests.set_lock(command.lock_id, command.locked), command.lock_id)


def build(attribs: models.Attribs, found: Found) -> Lock:
    return Lock(attribs.entity_id, attribs.name, attribs.area_id)


SPEC = KindSpec(
    label="locks",
    build=build,
    status=StatusReader(per_id("lock", models.parse_lock_status), merge),
    describe=describe,
    commands={SetLock: lock},
)
