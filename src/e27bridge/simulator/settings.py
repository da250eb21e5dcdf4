"""Run-time settings of a simulated panel: timers, behaviour choices, faults, activity.

Frozen dataclasses checked twice: ``__post_init__`` checks ranges whenever one is built
(also by ``dataclasses.replace``), and the TOML loader (scenario.py) validates types with
pydantic against the same classes, so every error names its key path. The scalar aliases
below are strict: a TOML string is never taken for a number or a boolean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Strict

Int = Annotated[int, Strict()]
Flt = Annotated[float, Strict()]  # strict floats still accept integers
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
FORBID = ConfigDict(extra="forbid")  # unknown keys are errors


class ScenarioError(ValueError):
    """A scenario or configuration value is invalid; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Timings:
    """Panel timers in panel seconds; ``time_scale`` divides all of them."""

    __pydantic_config__ = FORBID
    exit_delay: Flt = 60.0
    entry_delay: Flt = 30.0
    barrier_travel: Flt = 12.0
    privilege_window: Flt = 60.0
    zwave_report_delay: Flt = 0.0  # delay before a Z-Wave device's state broadcast
    countdown_interval: Flt = 0.0  # ee_timer broadcasts during delays (0 = on changes only)
    tstat_drift_interval: Flt = 60.0  # one temperature step while heating/cooling (0 = off)
    time_scale: Flt = 1.0

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ScenarioError("timings.time_scale must be > 0")
        for name in (
            "exit_delay",
            "entry_delay",
            "barrier_travel",
            "privilege_window",
            "zwave_report_delay",
            "countdown_interval",
            "tstat_drift_interval",
        ):
            if getattr(self, name) < 0:
                raise ScenarioError(f"timings.{name} must be >= 0")

    def scaled(self, seconds: float) -> float:
        """Wall-clock seconds for ``seconds`` of panel time."""
        return seconds / self.time_scale


PAGED_COMMANDS: tuple[str, ...] = (
    "area.get_configured",
    "zone.get_configured",
    "zone.get_defs",
    "output.get_configured",
    "output.get_all_outputs_status",
    "light.get_configured",
    "lock.get_configured",
    "tstat.get_configured",
    "barrier.get_configured",
    "keypad.get_configured",
    "user.get_configured",
    "rule.get_rules",
)
# Where numeric strings appear by default (ADR-0209); the rest of PAGED_COMMANDS is opt-in.
NUMERIC_STRING_DEFAULT: tuple[str, ...] = (
    "zone.get_defs",
    "output.get_all_outputs_status",
    "rule.get_rules",
)
SessionPolicy = Literal["refuse", "replace"]
TempUnits = Literal["F", "C"]
LogAnnounce = Literal["none", "get_index"]
AlarmFields = Literal["list", "bool"]
DEFAULT_SETPOINT_RANGE: dict[str, tuple[int, int]] = {"F": (40, 95), "C": (5, 35)}


@dataclass(frozen=True, slots=True)
class Behaviour:
    __pydantic_config__ = FORBID
    block_size: Int = 16
    numeric_string_blocks: Flt = 0.1  # probability that block_id/block_count are strings
    # ...in the replies of these paged commands (ADR-0209)
    numeric_string_commands: tuple[Str, ...] = NUMERIC_STRING_DEFAULT
    session_policy: SessionPolicy = "refuse"
    max_sessions: Int = 8
    zwave_busy_rate: Flt = 0.0
    tstat_units: TempUnits = "F"
    tstat_modes: tuple[Str, ...] = ("OFF", "HEAT", "COOL", "AUTO")
    tstat_fan_modes: tuple[Str, ...] = ("AUTO", "ON")
    strict: Bool = False  # disconnect a client on an in-flight violation
    check_session_id: Bool = True  # answer 11036 to a wrong session_id
    idle_timeout: Flt = 0.0  # close silent connections after this (0 = never)
    auth_fail_code: Int = 11037  # authenticate with an unknown PIN (protocol §20 item 5)
    # Firmware where arming and bypass need an authenticated session (vendor permission
    # document: per-user area rights); the reference arms without authenticate.
    codes_need_authenticate: Bool = False
    log_announce: LogAnnounce = "none"  # how new log entries are announced (ADR-0206)
    alarm_fields: AlarmFields = "list"  # format of area ``alarms`` / ``alarm_mem`` (ADR-0205)
    send_alarm_state: Bool = True  # False: area status without ``alarm_state`` (ADR-0205)
    tstat_setpoint_min: Int | None = None  # accepted setpoints (default by units, ADR-0208)
    tstat_setpoint_max: Int | None = None

    def setpoint_range(self) -> tuple[int, int]:
        low, high = DEFAULT_SETPOINT_RANGE[self.tstat_units]
        return (
            low if self.tstat_setpoint_min is None else self.tstat_setpoint_min,
            high if self.tstat_setpoint_max is None else self.tstat_setpoint_max,
        )

    def __post_init__(self) -> None:
        low, high = self.setpoint_range()
        if not -40 <= low <= high <= 150:
            raise ScenarioError("behaviour: need -40 <= tstat_setpoint_min <= max <= 150")
        unknown = sorted(set(self.numeric_string_commands) - set(PAGED_COMMANDS))
        if unknown:
            raise ScenarioError(
                f"behaviour.numeric_string_commands: {', '.join(unknown)} is not paged; "
                f"choose from {', '.join(PAGED_COMMANDS)}"
            )
        if not 1 <= self.block_size <= 256:
            raise ScenarioError("behaviour.block_size must be 1..256")
        for name in ("numeric_string_blocks", "zwave_busy_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ScenarioError(f"behaviour.{name} must be a probability 0..1")
        if self.max_sessions < 1:
            raise ScenarioError("behaviour.max_sessions must be at least 1")
        if not self.tstat_modes or not self.tstat_fan_modes:
            raise ScenarioError("behaviour.tstat_modes and tstat_fan_modes must not be empty")


HelloRefusal = Literal["none", "no_session", "rejected"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Faults applied by the server from the start (run-time changes go through control)."""

    __pydantic_config__ = FORBID
    response_delay: Flt = 0.0
    jitter: Flt = 0.0
    drop_reply_probability: Flt = 0.0
    late_reply_probability: Flt = 0.0
    late_reply_delay: Flt = 0.0
    close_after_requests: Int = 0  # 0 = never
    close_probability: Flt = 0.0
    split_frames: Bool = False
    garbage_between_frames: Flt = 0.0  # probability per outgoing frame
    bad_crc_probability: Flt = 0.0
    hello_refusal: HelloRefusal = "none"
    link_revoked: Bool = False
    link_table_full: Bool = False
    split_banner: Bool = False

    def __post_init__(self) -> None:
        for name in (
            "drop_reply_probability",
            "late_reply_probability",
            "close_probability",
            "garbage_between_frames",
            "bad_crc_probability",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ScenarioError(f"faults.{name} must be a probability 0..1")
        for name in ("response_delay", "jitter", "late_reply_delay"):
            if getattr(self, name) < 0:
                raise ScenarioError(f"faults.{name} must be >= 0")
        if self.close_after_requests < 0:
            raise ScenarioError("faults.close_after_requests must be >= 0")


@dataclass(frozen=True, slots=True)
class ActivityConfig:
    """Random zone activity; rates are per second of wall-clock time."""

    __pydantic_config__ = FORBID
    enabled: Bool = False
    zone_change_rate: Flt = 0.0  # zone openings per second
    burst_size: Int = 0  # zones opened together in a burst (0 = no bursts)
    burst_interval: Flt = 0.0  # seconds between bursts
    hold_min: Flt = 1.0  # how long an opened zone stays open
    hold_max: Flt = 5.0
    include_life_safety: Bool = False  # also fault fire/CO/water zones (alarms!)

    def __post_init__(self) -> None:
        if self.zone_change_rate < 0 or self.burst_size < 0 or self.burst_interval < 0:
            raise ScenarioError("activity rates, burst_size and burst_interval must be >= 0")
        if self.burst_size and self.burst_interval <= 0:
            raise ScenarioError("activity.burst_interval must be > 0 when burst_size is set")
        if not 0 <= self.hold_min <= self.hold_max:
            raise ScenarioError("activity: need 0 <= hold_min <= hold_max")


@dataclass(frozen=True, slots=True)
class InitialState:
    __pydantic_config__ = FORBID
    open_zones: tuple[Int, ...] = ()
    troubles: tuple[Str, ...] = ()  # system troubles, e.g. "ac fail"
    bus_missing: tuple[Str, ...] = ()  # bus_io_dev MISSING device ids
