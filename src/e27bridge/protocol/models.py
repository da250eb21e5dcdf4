"""Typed, tolerant parsers for the panel's reply and broadcast bodies (protocol §12-§13).

Unknown extra fields are ignored; a body that lacks what a model needs raises
``MalformedMessage``. Status models are partial: a field is ``None`` when the panel did not
send it, so broadcasts apply as partial updates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol import alarm_fields as alarm
from e27bridge.protocol.errors import MalformedMessage

# --- scalar helpers -------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    """Integers, numeric strings and integral floats (firmware differs); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        if digits.isascii() and digits.isdigit() and len(digits) <= 20:
            return int(text)
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().upper() in ("ON", "TRUE", "1", "YES"):
        return True
    if isinstance(value, str) and value.strip().upper() in ("OFF", "FALSE", "0", "NO"):
        return False
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def require_id(body: dict[str, Any], domain: str) -> int:
    entity_id = as_int(body.get(f"{domain}_id"))
    if entity_id is None or entity_id <= 0:
        raise MalformedMessage(f"{domain} body without a valid {domain}_id")
    return entity_id


def clean_name(value: Any, fallback: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    return name or fallback


# --- bulk status strings --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneBulkStatus:
    code: str
    enabled: bool
    trouble: bool
    violated: bool
    bypassed: bool


def decode_zone_char(char: str) -> ZoneBulkStatus | None:
    """Bits 3..2 logical state (normal/trouble/violated/bypassed), bits 1..0 physical."""
    try:
        value = int(char, 16)
    except ValueError:
        return None
    logical, physical = value >> 2, value & 0x3
    enabled = physical != 0
    return ZoneBulkStatus(
        code=char.upper(),
        enabled=enabled,
        trouble=enabled and logical == 1,
        violated=enabled and logical == 2,
        bypassed=enabled and logical == 3,
    )


def decode_zone_bulk(status: Any) -> dict[int, ZoneBulkStatus]:
    if not isinstance(status, str):
        raise MalformedMessage("zone bulk status is not a string")
    chars = [c for c in status if not c.isspace()]
    result = {}
    for index, char in enumerate(chars, start=1):
        decoded = decode_zone_char(char)
        if decoded is not None:
            result[index] = decoded
    return result


def decode_output_bulk(status: Any) -> dict[int, bool]:
    if not isinstance(status, str):
        raise MalformedMessage("output bulk status is not a string")
    chars = [c for c in status if not c.isspace()]
    return {i: c == "1" for i, c in enumerate(chars, start=1) if c in "01"}


# --- entity attributes and status -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attribs:
    """``get_attribs`` of any entity domain: the name and the owning area, if any.

    ``body`` keeps the whole reply, so a kind reads its own attributes (a light's
    ``dimmable``, a thermostat's ``setpoint_min``) where it is declared.
    """

    entity_id: int
    name: str
    area_id: int | None = None
    definition: str | int | None = None  # zones only
    body: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_attribs(domain: str, body: dict[str, Any]) -> Attribs:
    entity_id = require_id(body, domain)
    definition = body.get("definition")
    area_id = as_int(body.get("area_id", body.get("area")))
    return Attribs(
        entity_id=entity_id,
        name=clean_name(body.get("name"), f"{domain.capitalize()} {entity_id}"),
        area_id=area_id,
        definition=definition
        if isinstance(definition, str | int) and not isinstance(definition, bool)
        else None,
        body=body,
    )


@dataclass(frozen=True, slots=True)
class AreaStatus:
    area_id: int
    arm_state: str | None = None
    arm_cmd_state: str | None = None
    ready_status: str | None = None
    alarm_zone: str | None = None
    alarm_state: str | None = None
    alarms: alarm.AlarmField | None = None  # ``alarms``/``alarm_mem``: any format (ADR-0016)
    alarm_mem: alarm.AlarmField | None = None
    ee_timer: int | None = None
    chime: bool | None = None
    zones_bypassed: int | None = None
    troubles: tuple[str, ...] | None = None

    @property
    def ready(self) -> bool | None:
        return ready_from_status(self.ready_status)

    @property
    def alarm_active(self) -> bool | None:
        """From ``alarm_state`` when sent, else from ``alarms`` (ADR-0016)."""
        if self.alarm_state is None:
            return None if self.alarms is None else self.alarms.any
        return self.alarm_state.strip().upper() != "NO_ALARM_ACTIVE"

    @property
    def alarm_type(self) -> str | None:
        if not self.alarm_active:
            return None
        return self.alarm_state if self.alarm_state is not None else alarm.kinds_text(self.alarms)


def ready_from_status(value: str | None) -> bool | None:
    if value is None:
        return None
    upper = value.strip().upper()
    if upper == "RDY_NOT":
        return False
    return True if upper.startswith("RDY_") else None


def normalize_arm_state(value: str | None) -> str | None:
    """``DISARMED``/``ARMED_AWAY``/``ARMED_STAY``; other firmware spellings by substring."""
    if value is None:
        return None
    lower = value.lower()
    if "disarm" in lower:
        return "DISARMED"
    if "away" in lower:
        return "ARMED_AWAY"
    if "stay" in lower or "home" in lower or "night" in lower:
        return "ARMED_STAY"
    return None


def parse_troubles(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, str | int))
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, dict):
        return tuple(sorted(str(k) for k, v in value.items() if v))
    return None


def parse_area_status(body: dict[str, Any]) -> AreaStatus:
    return AreaStatus(
        area_id=require_id(body, "area"),
        arm_state=normalize_arm_state(as_str(body.get("arm_state"))),
        arm_cmd_state=normalize_arm_state(as_str(body.get("arm_cmd_state"))),
        ready_status=as_str(body.get("ready_status")),
        alarm_zone=alarm.parse_alarm_zone(body.get("alarm_zone")),
        alarm_state=as_str(body.get("alarm_state")),
        alarms=alarm.parse_alarm_field(body.get("alarms")),
        alarm_mem=alarm.parse_alarm_field(body.get("alarm_mem")),
        ee_timer=as_int(body.get("ee_timer")),
        chime=as_bool(body.get("Chime", body.get("chime"))),
        zones_bypassed=as_int(body.get("zones_bypassed")),
        troubles=parse_troubles(body.get("troubles")),
    )


@dataclass(frozen=True, slots=True)
class ZoneStatus:
    zone_id: int
    secure_state: str | None = None
    contact_state: str | None = None
    violated: bool | None = None
    trouble: bool | None = None
    tamper: bool | None = None
    alarm: bool | None = None
    bypassed: bool | None = None
    low_battery: bool | None = None
    rssi: int | None = None


def parse_zone_status(body: dict[str, Any]) -> ZoneStatus:
    secure = as_str(body.get("secure_state"))
    violated = trouble = tamper = alarm = state_bypass = None
    if secure is not None:
        upper = secure.upper()
        if upper in ("NORMAL", "SECURE", "RESTORE"):
            violated = trouble = tamper = alarm = False
        else:
            violated = "VIOLATED" in upper or upper == "OPEN"
            trouble = "TROUBLE" in upper
            tamper = "TAMPER" in upper
            alarm = "ALARM" in upper
            state_bypass = True if "BYPASS" in upper else None
    bypassed = as_bool(body.get("BYPASSED", body.get("bypassed")))
    return ZoneStatus(
        zone_id=require_id(body, "zone"),
        secure_state=secure,
        contact_state=as_str(body.get("contact_state")),
        violated=_first_bool(body, "violated", violated),
        trouble=_first_bool(body, "trouble", trouble),
        tamper=_first_bool(body, "tamper", tamper),
        alarm=_first_bool(body, "alarm", alarm),
        bypassed=bypassed if bypassed is not None else state_bypass,
        low_battery=as_bool(body.get("low_batt", body.get("low_battery"))),
        rssi=as_int(body.get("rssi")),
    )


def _first_bool(body: dict[str, Any], key: str, derived: bool | None) -> bool | None:
    explicit = as_bool(body.get(key))
    return explicit if explicit is not None else derived


@dataclass(frozen=True, slots=True)
class OnOffStatus:
    """Outputs and locks: ``status`` ON/OFF (locks may send ``locked``)."""

    entity_id: int
    on: bool | None


def parse_output_status(body: dict[str, Any]) -> OnOffStatus:
    return OnOffStatus(require_id(body, "output"), as_bool(body.get("status")))


def parse_lock_status(body: dict[str, Any]) -> OnOffStatus:
    locked = as_bool(body.get("locked"))
    return OnOffStatus(
        require_id(body, "lock"), locked if locked is not None else as_bool(body.get("status"))
    )


@dataclass(frozen=True, slots=True)
class LightStatus:
    light_id: int
    level: int | None


def parse_light_status(body: dict[str, Any]) -> LightStatus:
    level = as_int(body.get("level"))
    if level is None:
        state = as_bool(body.get("status", body.get("state")))
        level = None if state is None else (99 if state else 0)
    return LightStatus(
        require_id(body, "light"), None if level is None else max(0, min(level, 100))
    )


@dataclass(frozen=True, slots=True)
class BarrierStatus:
    barrier_id: int
    status: str | None
    tamper: bool | None = None
    low_battery: bool | None = None


def parse_barrier_status(body: dict[str, Any]) -> BarrierStatus:
    return BarrierStatus(
        barrier_id=require_id(body, "barrier"),
        status=as_str(body.get("status")),
        tamper=as_bool(body.get("tamper")),
        low_battery=as_bool(body.get("low_batt")),
    )


def precision_places(prec_byte: int) -> int:
    """Bits 7..5 of a ``prec`` byte are the number of decimal places."""
    return (prec_byte >> 5) & 0x7


def scale_value(raw: Any, prec: Any, index: int) -> float | int | None:
    value = as_int(raw)
    if value is None:
        return raw if isinstance(raw, float) and math.isfinite(raw) else None
    places = 0
    if isinstance(prec, list) and len(prec) > index:
        prec_byte = as_int(prec[index])
        places = precision_places(prec_byte) if prec_byte is not None else 0
    return value if places == 0 else value / 10**places


SETPOINT_RANGE = (-40, 150)  # reference policy (§13.5): tenths sent by mistake are refused


def encode_setpoint(value: float) -> int:
    """Whole degrees, rounded half up; refuses values outside ``SETPOINT_RANGE``."""
    low, high = SETPOINT_RANGE
    if not low <= value <= high:
        raise ValueError(f"setpoint {value} outside {low}..{high}")
    return math.floor(value + 0.5)


@dataclass(frozen=True, slots=True)
class TstatStatus:
    tstat_id: int
    temperature: float | None = None
    mode: str | None = None
    fan_mode: str | None = None
    heat_setpoint: float | None = None
    cool_setpoint: float | None = None
    humidity: float | None = None
    battery: int | None = None


def parse_tstat_status(body: dict[str, Any]) -> TstatStatus:
    prec = body.get("prec")
    return TstatStatus(
        tstat_id=require_id(body, "tstat"),
        temperature=scale_value(body.get("temperature"), prec, 0),
        cool_setpoint=scale_value(body.get("cool_setpoint"), prec, 1),
        heat_setpoint=scale_value(body.get("heat_setpoint"), prec, 2),
        humidity=scale_value(body.get("humidity"), prec, 3),
        mode=as_str(body.get("mode")),
        fan_mode=as_str(body.get("fan_mode")),
        battery=as_int(body.get("battery level", body.get("battery_level"))),
    )


@dataclass(frozen=True, slots=True)
class VersionInfo:
    serial: str | None
    model: str | None
    firmware: str | None


PLACEHOLDER_SERIALS = frozenset({"00000001", "00000000", "FFFFFFFF"})


def parse_version_info(body: dict[str, Any]) -> VersionInfo:
    serial = as_str(body.get("sn"))
    if serial is not None and serial.strip().upper() in PLACEHOLDER_SERIALS:
        serial = None
    return VersionInfo(
        serial=serial,
        model=as_str(body.get("hw")),
        firmware=as_str(body.get("SSP", body.get("app"))),
    )


@dataclass(frozen=True, slots=True)
class LogEntry:
    log_id: int
    time: int | None
    text: str

    @property
    def user(self) -> int | None:
        """The user the entry names ("... by user 3"), when its text says so; the text's
        form is what the reference shows, not a documented format."""
        match = _BY_USER.search(self.text)
        return int(match[1]) if match else None


_BY_USER = re.compile(r"\bby user (\d{1,5})\b")


def parse_log_list(body: dict[str, Any]) -> tuple[LogEntry, ...]:
    ids, times, texts = body.get("id"), body.get("time"), body.get("text")
    if not isinstance(ids, list) or not isinstance(texts, list):
        raise MalformedMessage("log list without id/text lists")
    times = times if isinstance(times, list) else []
    entries = []
    for index, (raw_id, text) in enumerate(zip(ids, texts, strict=False)):
        log_id = as_int(raw_id)
        if log_id is None:
            continue
        stamp = as_int(times[index]) if index < len(times) else None
        entries.append(LogEntry(log_id, stamp, str(text)))
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class LogIndex:
    newest: int | None
    max: int | None
    total: int | None


def parse_log_index(body: dict[str, Any]) -> LogIndex:
    return LogIndex(as_int(body.get("newest")), as_int(body.get("max")), as_int(body.get("total")))
