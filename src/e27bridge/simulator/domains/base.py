"""What every domain module shares: the call context, reply forms and the panel core.

A domain module owns one part of the panel's live state and answers the commands of its
wire domain(s). It gets a ``Core`` (configuration, randomness, clocks, the outgoing broadcast
queue, the persistence flag) and the other domains it needs, and returns its handlers from
``handlers()``. Nothing here touches sockets or clocks: time is passed in.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.protocol.messages import PanelRequest
from e27bridge.simulator.config import SimulatorConfig
from e27bridge.simulator.domains.permissions import ERROR_TEXT


@dataclass
class SessionAuth:
    """Authorisation context of one live session; owned by the server, mutated by the panel."""

    session_id: int
    level: int = 1  # permission level (1 = encryption key only)
    user_id: int | None = None
    privilege_until: float = 0.0


class Refused(Exception):
    """A command refused with a panel error code (reply form A, ids kept in the body)."""

    def __init__(self, code: int, body: dict[str, Any] | None = None) -> None:
        super().__init__(code)
        self.code = int(code)
        self.body = body or {}


@dataclass
class Call:
    """One request being answered, with the session that sent it and the panel time."""

    request: PanelRequest
    auth: SessionAuth
    now: float
    params: dict[str, Any] = field(repr=False)

    @property
    def domain(self) -> str:
        return self.request.domain

    @property
    def command(self) -> str:
        return self.request.command or ""


Handler = Callable[[Call], dict[str, Any]]
Handlers = dict[tuple[str, str], Handler]
Message = dict[str, Any]

# Domain -> (id key, plural key of get_configured).
ENTITY_DOMAINS: dict[str, tuple[str, str]] = {
    "area": ("area_id", "areas"),
    "zone": ("zone_id", "zones"),
    "output": ("output_id", "outputs"),
    "light": ("light_id", "lights"),
    "lock": ("lock_id", "locks"),
    "tstat": ("tstat_id", "tstats"),
    "barrier": ("barrier_id", "barriers"),
    "keypad": ("keypad_id", "keypads"),
    "user": ("user_id", "users"),
}


# --------------------------------------------------------------------------- reply forms


def ok(call: Call, body: dict[str, Any], command: str | None = None) -> Message:
    """Reply form A: the body under domain and command, ``error_code`` 0."""
    return {
        "seq": call.request.seq,
        call.domain: {command or call.command: {**body, "error_code": 0}},
    }


def domain_error(seq: int, domain: str, code: int) -> Message:
    return {"seq": seq, domain: {"error_code": int(code), "error_message": ERROR_TEXT[code]}}


def root_error(seq: int, code: int) -> Message:
    return {"seq": seq, "error_code": int(code), "error_message": ERROR_TEXT[code]}


def refused_reply(call: Call, refused: Refused) -> Message:
    body = {**refused.body, "error_code": refused.code}
    if refused.code in ERROR_TEXT:
        body["error_message"] = ERROR_TEXT[refused.code]
    return {"seq": call.request.seq, call.domain: {call.command: body}}


# --------------------------------------------------------------------------- parameters


def int_param(params: dict[str, Any], key: str) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused(E.INVALID_PARAM)
    return value


def intish(value: Any) -> int | None:
    """An int or a numeric string (liberal receiving for paging fields)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def on_off(params: dict[str, Any], ids: dict[str, Any]) -> bool:
    """``status`` "ON"/"OFF" (any case) as a bool; 11002 otherwise."""
    status = params.get("status")
    if not isinstance(status, str) or status.upper() not in ("ON", "OFF"):
        raise Refused(E.INVALID_PARAM, ids)
    return status.upper() == "ON"


def entity_id(call: Call, known: dict[int, Any] | set[int]) -> int:
    """The id parameter of the call's domain; 11006 when it is not configured."""
    key = ENTITY_DOMAINS[call.domain][0]
    value = int_param(call.params, key)
    if value not in known:
        raise Refused(E.INVALID_ID, {key: value})
    return value


def device_attribs(call: Call, items: dict[int, Any], **extra: Any) -> Message:
    """``get_attribs`` of a Z-Wave device: id, name, area, plus ``extra``."""
    item = items[entity_id(call, items)]
    key = ENTITY_DOMAINS[call.domain][0]
    return ok(call, {key: item.id, "name": item.name, "area_id": item.area_id, **extra})


def save_flags(flags: dict[int, bool]) -> dict[str, bool]:
    """A per-id on/off table as a state-file object (JSON keys are strings)."""
    return {str(k): v for k, v in flags.items()}


def load_flags(flags: dict[int, bool], data: dict[str, Any]) -> None:
    """Restore ``save_flags`` output; ids no longer configured are ignored."""
    for key, value in data.items():
        if int(key) in flags:
            flags[int(key)] = bool(value)


def csm(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode()) & 0xFFFF


# --------------------------------------------------------------------------- the core


class Core:
    """Configuration, randomness, time and the outgoing queues every domain shares."""

    def __init__(
        self,
        config: SimulatorConfig,
        rng: random.Random,
        wall: Callable[[float], float],
    ) -> None:
        self.config = config
        self.inv = config.inventory
        self.rng = rng
        self.wall = wall
        self.broadcasts: list[Message] = []
        self.delayed: list[tuple[float, Message]] = []
        self.dirty = False  # something a real panel keeps in non-volatile memory changed

    def mark_dirty(self) -> None:
        self.dirty = True

    def scaled(self, panel_seconds: float) -> float:
        """Wall-clock seconds for ``panel_seconds`` of panel time."""
        return self.config.timings.scaled(panel_seconds)

    def seconds_left(self, until: float, now: float) -> int:
        """Panel seconds until ``until`` (rounded up), for ``ee_timer``."""
        return max(0, math.ceil((until - now) * self.config.timings.time_scale - 1e-9))

    def broadcast(self, domain: str, body: dict[str, Any], command: str = "get_status") -> None:
        self.broadcasts.append({"seq": 0, domain: {command: {**body, "error_code": 0}}})

    def device_report(self, domain: str, body: dict[str, Any], now: float) -> None:
        """A Z-Wave device's new state, after ``timings.zwave_report_delay``."""
        delay = self.scaled(self.config.timings.zwave_report_delay)
        message = {"seq": 0, domain: {"get_status": {**body, "error_code": 0}}}
        if delay > 0:
            self.delayed.append((now + delay, message))
        else:
            self.broadcasts.append(message)

    def release_delayed(self, now: float) -> None:
        if not self.delayed:
            return
        due = [item for item in self.delayed if item[0] <= now]
        if due:
            self.delayed = [item for item in self.delayed if item[0] > now]
            self.broadcasts.extend(message for _, message in due)

    def zwave_busy(self, ids: dict[str, Any]) -> None:
        """Refuse with 11039 at ``behaviour.zwave_busy_rate``."""
        rate = self.config.behaviour.zwave_busy_rate
        if rate > 0 and self.rng.random() < rate:
            raise Refused(E.ZWAVE_BUSY, ids)

    # -- paging

    def block(self, call: Call, total_items: int, first: int = 1) -> tuple[int, int]:
        """(block_id, block_count) for a paged request; 11006 beyond the range."""
        size = self.config.behaviour.block_size
        count = max(1, math.ceil(total_items / size))
        block_id = intish(call.params.get("block_id", first))
        if block_id is None:
            raise Refused(E.INVALID_PARAM)
        if not first <= block_id <= count:
            raise Refused(E.INVALID_ID, {"block_id": block_id, "block_count": count})
        return block_id, count

    def block_fields(self, call: Call, block_id: int, count: int) -> dict[str, Any]:
        """Paging fields; numeric strings at ``behaviour.numeric_string_blocks`` for the
        commands in ``behaviour.numeric_string_commands`` (ADR-0209)."""
        behaviour = self.config.behaviour
        if f"{call.domain}.{call.command}" in behaviour.numeric_string_commands and (
            self.rng.random() < behaviour.numeric_string_blocks
        ):
            return {"block_id": str(block_id), "block_count": str(count)}
        return {"block_id": block_id, "block_count": count}

    def page(self, call: Call, items: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        """Paging fields and the slice of ``items`` the requested block holds."""
        block_id, count = self.block(call, len(items))
        size = self.config.behaviour.block_size
        return self.block_fields(call, block_id, count), items[
            (block_id - 1) * size : block_id * size
        ]
