"""User commands the engine accepts, and the one result every command gets.

Each command is declared by its kind (``panel/kinds``), with the request that carries it
out; they are named here together for callers.

Commands are validated before they are queued: an invalid command never reaches the panel.
Codes (PINs) are plain integers in fields kept out of ``repr`` (so out of logs).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from e27bridge.panel.kinds.area import ArmArea, SetChime
from e27bridge.panel.kinds.barrier import BarrierAction, OperateBarrier
from e27bridge.panel.kinds.light import SetLight
from e27bridge.panel.kinds.lock import SetLock
from e27bridge.panel.kinds.output import SetOutput
from e27bridge.panel.kinds.tstat import SetThermostat
from e27bridge.panel.kinds.zone import BypassZone
from e27bridge.panel.state import EntityKind

__all__ = [
    "ArmArea",
    "BarrierAction",
    "BypassZone",
    "Command",
    "CommandResult",
    "OperateBarrier",
    "Outcome",
    "Refresh",
    "SetChime",
    "SetLight",
    "SetLock",
    "SetOutput",
    "SetThermostat",
    "parse_pin",
]


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
    data: Mapping[str, Any] | None = None  # what it did, for the answer (reads, zones)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def parse_pin(code: str | int) -> int:
    """User codes travel as JSON integers 1..999999 (a string PIN is refused by the panel).

    ASCII digits only: ``str.isdigit`` and ``int`` also take fullwidth or Arabic-Indic ones.
    """
    text = str(code).strip()
    if not text.isdigit():
        raise ValueError("a code has only the digits 0-9")
    if not text.isascii():
        raise ValueError("a code has only the ASCII digits 0-9, not other scripts' digits")
    if not 1 <= len(text) <= 6:
        raise ValueError("a code has 1 to 6 digits")
    if int(text) == 0:
        raise ValueError("zero is not a user code")
    if text.startswith("0"):
        raise ValueError(
            "a code with a leading zero cannot be sent: the panel takes a code as a number, "
            "so the zero would be lost"
        )
    return int(text)


@dataclass(frozen=True, slots=True)
class Refresh:
    """Re-read the status of one entity, of every entity of one kind, or of the whole panel
    (``kind`` None), through the queue like a command; its replies fold into the state."""

    kind: EntityKind | None = None
    entity_id: int | None = None


Command = (
    ArmArea
    | SetChime
    | BypassZone
    | SetOutput
    | SetLight
    | SetLock
    | OperateBarrier
    | SetThermostat
    | Refresh
)
