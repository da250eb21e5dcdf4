"""Zones (sensors): open/trouble/tamper/bypass, read in bulk (protocol §13.3, ADR-0002)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from e27bridge.panel.kinds.base import (
    BulkStatus,
    Event,
    Found,
    KindSpec,
    StatusReader,
    Write,
    merge_present,
    per_id,
)
from e27bridge.protocol import models, requests

UNDEFINED = "UNDEFINED"  # placeholder zones on the panel: never exposed


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    name: str
    area_id: int | None = None
    definition: str | None = None
    status_code: str | None = None  # raw bulk status character
    enabled: bool | None = None
    violated: bool | None = None
    trouble: bool = False
    tamper: bool = False
    alarm: bool = False
    bypassed: bool | None = None
    low_battery: bool = False
    rssi: int | None = None


_STATUS_FIELDS = ("violated", "trouble", "tamper", "alarm", "bypassed", "low_battery", "rssi")


def merge(old: Zone, status: models.ZoneStatus) -> Zone:
    new = merge_present(old, status, *_STATUS_FIELDS)
    return replace(new, enabled=True if old.enabled is None else old.enabled)


def merge_bulk(old: Zone, status: models.ZoneBulkStatus) -> Zone:
    return replace(
        old,
        status_code=status.code,
        enabled=status.enabled,
        violated=status.violated,
        trouble=status.trouble,
        bypassed=status.bypassed,
    )


def events(old: Zone, new: Zone) -> tuple[Event, ...]:
    if old.bypassed is not None and new.bypassed != old.bypassed:
        return (("bypass", {"zone": new.id, "bypassed": new.bypassed}),)
    return ()


# Flags worth a line, with the words for set / cleared.
_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("violated", "open", "closed"),
    ("bypassed", "bypassed", "unbypassed"),
    ("trouble", "trouble", "trouble cleared"),
    ("tamper", "tamper", "tamper cleared"),
    ("alarm", "ALARM", "alarm cleared"),
    ("low_battery", "low battery", "battery ok"),
)


def describe(old: Zone, new: Zone) -> str | None:
    words = [
        on if getattr(new, attr) else off
        for attr, on, off in _FLAGS
        if getattr(old, attr) is not None and getattr(old, attr) != getattr(new, attr)
    ]
    return ", ".join(words) or None


BYPASS_TIMEOUT = 15.0  # the reference waits longer for zone bypass acks


# Life-safety zones are never bypassed by the bridge: no HA switch (ADR-0006), no automatic
# bypass when arming (ADR-0012). Panels refuse or should; we do not ask.
_NEVER_BYPASS = re.compile(r"FIRE|SMOKE|^CO$|CARBON|GAS|HEAT")


def zone_bypassable(definition: str | None) -> bool:
    return not (definition and _NEVER_BYPASS.search(definition.upper()))


@dataclass(frozen=True, slots=True)
class BypassZone:
    zone_id: int
    bypassed: bool
    code: int = field(repr=False)


def bypass(command: BypassZone) -> Write:
    spec = requests.bypass_zone(command.zone_id, command.bypassed, command.code)
    return Write(spec, command.zone_id, reply_timeout=BYPASS_TIMEOUT, code=command.code)


def build(attribs: models.Attribs, found: Found) -> Zone | None:
    definition = definition_name(attribs.definition, found.definitions)
    if definition == UNDEFINED:
        return None
    return Zone(attribs.entity_id, attribs.name, attribs.area_id, definition)


def definition_name(value: str | int | None, definitions: tuple[str, ...]) -> str | None:
    """Definitions may be names or 1-based indexes into ``zone.get_defs`` (ADR-0002)."""
    if isinstance(value, str):
        return value.strip().upper() or None
    if isinstance(value, int) and 1 <= value <= len(definitions):
        return definitions[value - 1].strip().upper()
    return None


def _bulk(body: dict[str, Any]) -> dict[int, models.ZoneBulkStatus]:
    return models.decode_zone_bulk(body.get("status"))


SPEC = KindSpec(
    label="zones",
    build=build,
    status=StatusReader(per_id("zone", models.parse_zone_status), merge),
    bulk=BulkStatus(
        "get_all_zones_status", requests.all_zones_status, StatusReader(_bulk, merge_bulk)
    ),
    events=events,
    describe=describe,
    commands={BypassZone: bypass},
    required=True,
    needs_definitions=True,
)
