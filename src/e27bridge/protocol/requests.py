"""Builders for every request e27bridge sends (protocol §8.1, §10, §13).

A ``RequestSpec`` is pure data; the engine's queue decides retries from ``is_read`` and
``at_most_once``, never from the command name scattered across the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestSpec:
    domain: str
    command: str | None  # None: top-level ``authenticate``
    args: Any = field(default_factory=dict, repr=False)
    at_most_once: bool = False  # barriers and keepalives: never resent

    @property
    def route(self) -> str:
        return self.domain if self.command is None else f"{self.domain}.{self.command}"

    @property
    def is_read(self) -> bool:
        """Reads may be retried; writes never are (a lost reply is ``unknown``)."""
        command = self.command or ""
        return command.startswith("get_") or command == "r_u_alive"

    @property
    def retryable(self) -> bool:
        return self.is_read and not self.at_most_once

    @property
    def coalesce_key(self) -> tuple[str, str | None, str] | None:
        """Identical pending reads share one request."""
        if not self.is_read:
            return None
        return (self.domain, self.command, repr(sorted(_items(self.args))))


def _items(args: Any) -> list[tuple[str, Any]]:
    return list(args.items()) if isinstance(args, dict) else [("", args)]


def table_info(domain: str) -> RequestSpec:
    return RequestSpec(domain, "get_table_info", {})


def get_configured(domain: str, block_id: int) -> RequestSpec:
    return RequestSpec(domain, "get_configured", {"block_id": block_id})


def get_attribs(domain: str, entity_id: int) -> RequestSpec:
    return RequestSpec(domain, "get_attribs", {f"{domain}_id": entity_id})


def get_status(domain: str, entity_id: int) -> RequestSpec:
    return RequestSpec(domain, "get_status", {f"{domain}_id": entity_id})


def zone_defs(block_id: int) -> RequestSpec:
    return RequestSpec("zone", "get_defs", {"block_id": block_id})


def all_zones_status() -> RequestSpec:
    return RequestSpec("zone", "get_all_zones_status", {})


def all_outputs_status(block_id: int | None = None) -> RequestSpec:
    return RequestSpec(
        "output", "get_all_outputs_status", {} if block_id is None else {"block_id": block_id}
    )


def keepalive() -> RequestSpec:
    return RequestSpec("system", "r_u_alive", {}, at_most_once=True)


def version_info() -> RequestSpec:
    return RequestSpec("control", "get_version_info", {})


def system_troubles() -> RequestSpec:
    return RequestSpec("system", "get_trouble", {})


def authenticate(pin: int) -> RequestSpec:
    return RequestSpec("authenticate", None, {"pin": pin})


def arm_area(area_id: int, arm_state: str, pin: int) -> RequestSpec:
    return RequestSpec(
        "area",
        "set_arm_state",
        {
            "area_id": area_id,
            "arm_state": arm_state,
            "pin": pin,
            "auto_stay_cancel": False,
            "exit_delay_cancel": False,
        },
    )


def set_chime(area_id: int, enabled: bool) -> RequestSpec:
    return RequestSpec("area", "set_status", {"area_id": area_id, "Chime": enabled})


def bypass_zone(zone_id: int, bypassed: bool, pin: int) -> RequestSpec:
    return RequestSpec("zone", "set_status", {"zone_id": zone_id, "pin": pin, "BYPASSED": bypassed})


def set_output(output_id: int, on: bool) -> RequestSpec:
    return RequestSpec("output", "set_status", {"output_id": output_id, "status": _on_off(on)})


def set_light(light_id: int, level: int) -> RequestSpec:
    return RequestSpec(
        "light", "set_status", {"light_id": light_id, "status": _on_off(level > 0), "level": level}
    )


def set_lock(lock_id: int, locked: bool) -> RequestSpec:
    return RequestSpec("lock", "set_status", {"lock_id": lock_id, "status": _on_off(locked)})


def operate_barrier(barrier_id: int, action: str) -> RequestSpec:
    if action not in ("open", "close", "stop"):
        raise ValueError(f"barrier action {action!r}")
    return RequestSpec(
        "barrier", "set_status", {"barrier_id": barrier_id, "status": action}, at_most_once=True
    )


def set_thermostat(tstat_id: int, **values: Any) -> RequestSpec:
    args = {"tstat_id": tstat_id}
    args.update({k: v for k, v in values.items() if v is not None})
    return RequestSpec("tstat", "set_status", args)


def log_index() -> RequestSpec:
    return RequestSpec("log", "get_index", {})


def log_list(start: int, count: int) -> RequestSpec:
    return RequestSpec("log", "get_list", {"start": start, "date": 0, "cnt": count})


def _on_off(on: bool) -> str:
    return "ON" if on else "OFF"
