"""User commands the engine accepts, and the one result every command gets.

Commands are validated before they are queued: an invalid command never reaches the panel.
Codes (PINs) are carried as ``SecretStr``-like private fields and never appear in repr.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from e27bridge.panel.state import ArmMode
from e27bridge.protocol.models import SETPOINT_RANGE


class Outcome(enum.Enum):
    OK = "ok"
    REJECTED = "rejected"  # the panel (or a full queue) refused it
    UNKNOWN = "unknown"  # a write was sent and no reply came: never retried
    EXPIRED = "expired"  # waited longer than command_max_age
    INVALID = "invalid"  # malformed; never sent
    UNAVAILABLE = "unavailable"  # panel not connected (or bridge stopping)


@dataclass(frozen=True, slots=True)
class CommandResult:
    outcome: Outcome
    code: int | None = None  # the panel's error code when it rejected the command
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def parse_pin(code: str | int) -> int:
    """User codes travel as JSON integers 1..999999 (a string PIN is refused by the panel).

    ASCII digits only: ``str.isdigit`` and ``int`` also take fullwidth or Arabic-Indic ones.
    """
    text = str(code).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= len(text) <= 6 or int(text) == 0:
        raise ValueError("code must be 1 to 6 digits")
    if text.startswith("0") and len(text) > 1:
        raise ValueError("codes with a leading zero cannot be sent to the panel")
    return int(text)


@dataclass(frozen=True, slots=True)
class ArmArea:
    area_id: int
    mode: ArmMode
    code: int = field(repr=False)


@dataclass(frozen=True, slots=True)
class SetChime:
    area_id: int
    enabled: bool


@dataclass(frozen=True, slots=True)
class BypassZone:
    zone_id: int
    bypassed: bool
    code: int = field(repr=False)


@dataclass(frozen=True, slots=True)
class SetOutput:
    output_id: int
    on: bool


@dataclass(frozen=True, slots=True)
class SetLight:
    light_id: int
    level: int  # 0-99; 0 = off

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 99:
            raise ValueError("light level must be 0..99")


@dataclass(frozen=True, slots=True)
class SetLock:
    lock_id: int
    locked: bool


class BarrierAction(enum.Enum):
    OPEN = "open"
    CLOSE = "close"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class OperateBarrier:
    barrier_id: int
    action: BarrierAction


@dataclass(frozen=True, slots=True)
class SetThermostat:
    tstat_id: int
    mode: str | None = None
    fan_mode: str | None = None
    heat_setpoint: int | None = None
    cool_setpoint: int | None = None

    def __post_init__(self) -> None:
        low, high = SETPOINT_RANGE
        for value in (self.heat_setpoint, self.cool_setpoint):
            if value is not None and not low <= value <= high:
                raise ValueError(f"setpoints must be whole degrees in {low}..{high}")
        if all(
            v is None for v in (self.mode, self.fan_mode, self.heat_setpoint, self.cool_setpoint)
        ):
            raise ValueError("nothing to set")


Command = (
    ArmArea
    | SetChime
    | BypassZone
    | SetOutput
    | SetLight
    | SetLock
    | OperateBarrier
    | SetThermostat
)
