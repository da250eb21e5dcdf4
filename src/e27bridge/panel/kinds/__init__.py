"""The registry of entity kinds: one module per kind, one line each here (ADR-0008).

The order is the order of every listing: bootstrap reads, Homie nodes, HA components, the
live view's summary.
"""

from __future__ import annotations

import enum

from e27bridge.panel.kinds import area, barrier, keypad, light, lock, output, tstat, zone
from e27bridge.panel.kinds.base import KindSpec, Registry


class EntityKind(enum.Enum):
    """Every kind the engine knows; the value is the protocol domain."""

    AREA = "area"
    ZONE = "zone"
    OUTPUT = "output"
    LIGHT = "light"
    LOCK = "lock"
    TSTAT = "tstat"
    BARRIER = "barrier"
    KEYPAD = "keypad"


KINDS: Registry[EntityKind, KindSpec] = Registry(
    {
        EntityKind.AREA: area.SPEC,
        EntityKind.ZONE: zone.SPEC,
        EntityKind.OUTPUT: output.SPEC,
        EntityKind.LIGHT: light.SPEC,
        EntityKind.LOCK: lock.SPEC,
        EntityKind.TSTAT: tstat.SPEC,
        EntityKind.BARRIER: barrier.SPEC,
        EntityKind.KEYPAD: keypad.SPEC,
    }
)


def kind_named(value: str) -> EntityKind | None:
    """The registered kind whose value (protocol domain) is ``value``."""
    return next((k for k in KINDS if k.value == value), None)
