"""Simulator configuration: frozen dataclasses, built-in profiles and the TOML scenario loader.

The whole simulated panel is described by one immutable ``SimulatorConfig``. Profiles give
the realistic inventories of ecosystem §7.1; a scenario file (docs/simulator-scenario.md)
starts from a profile and overrides any part. The CLI applies its flags with
``dataclasses.replace`` (and ``with_user_pin`` for ``--user-pin``).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from e27bridge.protocol.discovery import normalize_mac
from e27bridge.simulator import profiles as P

PROFILES: tuple[str, ...] = ("small", "large", "max")

LEVEL_ANY_USER = 2
LEVEL_MASTER = 3
LEVEL_INSTALLER = 4
PIN_MIN = 1
PIN_MAX = 999999

# Zone definition -> behaviour class used by the panel. Unknown custom names behave like
# "instant" burglary zones, which is the safe choice for a test panel.
DEFINITION_BEHAVIOUR: dict[str, str] = {
    "UNDEFINED": "none",
    "BURG_PERIM_DELAY": "delay",
    "BURG_PERIM_INST": "instant",
    "BURG_INTERIOR_FOLLOWER": "follower",
    "BURG_INTERIOR": "interior",
    "BURG_INTERIOR_DELAY": "interior_delay",
    "BURG_24HR": "24h",
    "FIRE": "24h",
    "FIRE_VERIFIED": "24h",
    "CO": "24h",
    "WATER": "24h",
    "TEMPERATURE": "24h",
    "AUX_24HR": "24h",
    "PANIC": "24h",
    "NON_ALARM": "none",
}

# Alarm type reported in ``alarm_state`` for a zone definition.
DEFINITION_ALARM: dict[str, str] = {
    "FIRE": "FIRE",
    "FIRE_VERIFIED": "FIRE",
    "CO": "CARBON_MONOXIDE",
    "WATER": "WATER",
    "TEMPERATURE": "TEMPERATURE",
    "AUX_24HR": "AUXILIARY",
    "PANIC": "PANIC",
}

NOT_BYPASSABLE_DEFINITIONS = frozenset({"FIRE", "FIRE_VERIFIED", "CO", "PANIC"})


class ScenarioError(ValueError):
    """A scenario or configuration value is invalid; the message says where and why."""


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class Identity:
    name: str = "E27 Simulator"
    mac: str = "0050C2E27001"
    serial: str = "E27SIM000001"
    hardware: str = "E27-100"
    firmware: str = "1.4.12"
    boot: str = "1.0.6"
    ssp: str = "3.2.1"
    build_datetime: str = "2024-05-14 10:21:00"
    version_sn: str = "00000001"  # what get_version_info reports (a placeholder, §17 item 19)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mac", normalize_mac(self.mac))
        except ValueError as exc:
            raise ScenarioError(f"identity.mac: {exc}") from None
        if not self.name.strip():
            raise ScenarioError("identity.name must not be empty")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Simulator test credentials (kept out of repr all the same)."""

    access_code: str = field(default="12345678", repr=False)
    passphrase: str = field(default="simulator", repr=False)
    link_slots: int = 4

    def __post_init__(self) -> None:
        if not self.access_code or not self.passphrase:
            raise ScenarioError("credentials: access_code and passphrase must not be empty")
        if self.link_slots < 1:
            raise ScenarioError("credentials.link_slots must be at least 1")


@dataclass(frozen=True, slots=True)
class Network:
    host: str = "127.0.0.1"
    port: int = 2101
    discovery_port: int = 2362
    tls_port: int = 0

    def __post_init__(self) -> None:
        for name in ("port", "discovery_port", "tls_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise ScenarioError(f"network.{name} must be 0..65535, got {value}")


@dataclass(frozen=True, slots=True)
class Area:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    name: str
    area_id: int = 1
    definition: str = "BURG_PERIM_INST"
    bypassable: bool = True
    wireless: bool = False


@dataclass(frozen=True, slots=True)
class Output:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Light:
    id: int
    name: str
    area_id: int = 1
    dimmable: bool = True


@dataclass(frozen=True, slots=True)
class Lock:
    id: int
    name: str
    area_id: int = 1


@dataclass(frozen=True, slots=True)
class Tstat:
    id: int
    name: str
    area_id: int = 1


@dataclass(frozen=True, slots=True)
class Barrier:
    id: int
    name: str
    area_id: int = 1


@dataclass(frozen=True, slots=True)
class Keypad:
    id: int
    name: str
    area_id: int = 1


@dataclass(frozen=True, slots=True)
class User:
    """A panel user; ``areas`` empty means every area. The PIN never appears in repr."""

    id: int
    name: str
    pin: int = field(repr=False)
    group_id: int = 1
    level: int = LEVEL_ANY_USER
    areas: tuple[int, ...] = ()

    @property
    def installer(self) -> bool:
        return self.level >= LEVEL_INSTALLER


@dataclass(frozen=True, slots=True)
class Inventory:
    areas: tuple[Area, ...] = (Area(1, "Area 1"),)
    zones: tuple[Zone, ...] = ()
    outputs: tuple[Output, ...] = ()
    lights: tuple[Light, ...] = ()
    locks: tuple[Lock, ...] = ()
    tstats: tuple[Tstat, ...] = ()
    barriers: tuple[Barrier, ...] = ()
    keypads: tuple[Keypad, ...] = ()
    users: tuple[User, ...] = ()
    definitions: tuple[str, ...] = P.ZONE_DEFINITIONS
    rules: int = 4
    log_capacity: int = 250
    table_elements: Mapping[str, int] = field(default_factory=lambda: dict(P.TABLE_ELEMENTS))

    def __post_init__(self) -> None:
        _validate_inventory(self)

    def table_size(self, domain: str) -> int:
        return self.table_elements.get(domain, 0)


@dataclass(frozen=True, slots=True)
class Timings:
    """Panel timers in panel seconds; ``time_scale`` divides all of them."""

    exit_delay: float = 60.0
    entry_delay: float = 30.0
    barrier_travel: float = 12.0
    privilege_window: float = 60.0
    zwave_report_delay: float = 0.0  # delay before a Z-Wave device's state broadcast
    countdown_interval: float = 0.0  # ee_timer broadcasts during delays (0 = on changes only)
    tstat_drift_interval: float = 60.0  # one temperature step while heating/cooling (0 = off)
    time_scale: float = 1.0

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
SessionPolicy = Literal["refuse", "replace"]
TempUnits = Literal["F", "C"]
LogAnnounce = Literal["none", "get_index"]
AlarmFields = Literal["list", "bool"]
DEFAULT_SETPOINT_RANGE: dict[str, tuple[int, int]] = {"F": (40, 95), "C": (5, 35)}


@dataclass(frozen=True, slots=True)
class Behaviour:
    block_size: int = 16
    numeric_string_blocks: float = 0.1  # probability that block_id/block_count are strings
    # ...in the replies of these paged commands (ADR-0209)
    numeric_string_commands: tuple[str, ...] = PAGED_COMMANDS
    session_policy: SessionPolicy = "refuse"
    max_sessions: int = 8
    zwave_busy_rate: float = 0.0
    tstat_units: TempUnits = "F"
    tstat_modes: tuple[str, ...] = ("OFF", "HEAT", "COOL", "AUTO")
    tstat_fan_modes: tuple[str, ...] = ("AUTO", "ON")
    strict: bool = False  # disconnect a client on an in-flight violation
    check_session_id: bool = True  # answer 11036 to a wrong session_id
    idle_timeout: float = 0.0  # close silent connections after this (0 = never)
    auth_fail_code: int = 11037  # authenticate with an unknown PIN (protocol §20 item 5)
    # Firmware where arming and bypass need an authenticated session (vendor permission
    # document: per-user area rights); the reference arms without authenticate.
    codes_need_authenticate: bool = False
    log_announce: LogAnnounce = "none"  # how new log entries are announced (ADR-0206)
    alarm_fields: AlarmFields = "list"  # format of area ``alarms`` / ``alarm_mem`` (ADR-0205)
    tstat_setpoint_min: int | None = None  # accepted setpoints (default by units, ADR-0208)
    tstat_setpoint_max: int | None = None

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

    response_delay: float = 0.0
    jitter: float = 0.0
    drop_reply_probability: float = 0.0
    late_reply_probability: float = 0.0
    late_reply_delay: float = 0.0
    close_after_requests: int = 0  # 0 = never
    close_probability: float = 0.0
    split_frames: bool = False
    garbage_between_frames: float = 0.0  # probability per outgoing frame
    bad_crc_probability: float = 0.0
    hello_refusal: HelloRefusal = "none"
    link_revoked: bool = False
    link_table_full: bool = False
    split_banner: bool = False

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

    enabled: bool = False
    zone_change_rate: float = 0.0  # zone openings per second
    burst_size: int = 0  # zones opened together in a burst (0 = no bursts)
    burst_interval: float = 0.0  # seconds between bursts
    hold_min: float = 1.0  # how long an opened zone stays open
    hold_max: float = 5.0
    include_life_safety: bool = False  # also fault fire/CO/water zones (alarms!)

    def __post_init__(self) -> None:
        if self.zone_change_rate < 0 or self.burst_size < 0 or self.burst_interval < 0:
            raise ScenarioError("activity rates, burst_size and burst_interval must be >= 0")
        if self.burst_size and self.burst_interval <= 0:
            raise ScenarioError("activity.burst_interval must be > 0 when burst_size is set")
        if not 0 <= self.hold_min <= self.hold_max:
            raise ScenarioError("activity: need 0 <= hold_min <= hold_max")


@dataclass(frozen=True, slots=True)
class InitialState:
    open_zones: tuple[int, ...] = ()
    troubles: tuple[str, ...] = ()  # system troubles, e.g. "ac fail"
    bus_missing: tuple[str, ...] = ()  # bus_io_dev MISSING device ids


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    identity: Identity = field(default_factory=Identity)
    credentials: Credentials = field(default_factory=Credentials)
    network: Network = field(default_factory=Network)
    inventory: Inventory = field(default_factory=Inventory)
    timings: Timings = field(default_factory=Timings)
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: FaultConfig = field(default_factory=FaultConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    initial: InitialState = field(default_factory=InitialState)
    seed: int | None = None
    profile: str = "custom"

    def __post_init__(self) -> None:
        known = {zone.id for zone in self.inventory.zones}
        for zone_id in self.initial.open_zones:
            if zone_id not in known:
                raise ScenarioError(f"initial.open_zones: zone {zone_id} is not configured")

    def with_user_pin(self, pin: int) -> SimulatorConfig:
        """User 1's PIN replaced (``--user-pin``); user 1 is created if missing."""
        _check_pin(pin, "user pin")
        users = list(self.inventory.users)
        for index, user in enumerate(users):
            if user.id == 1:
                users[index] = dataclasses.replace(user, pin=pin, areas=())
                break
        else:
            users.insert(0, User(1, "Owner", pin, level=LEVEL_MASTER))
        inventory = dataclasses.replace(self.inventory, users=tuple(users))
        return dataclasses.replace(self, inventory=inventory)

    def user1_pin(self) -> int | None:
        return next((u.pin for u in self.inventory.users if u.id == 1), None)


# --------------------------------------------------------------------------- validation


def _check_pin(pin: Any, where: str) -> None:
    if isinstance(pin, bool) or not isinstance(pin, int) or not PIN_MIN <= pin <= PIN_MAX:
        raise ScenarioError(f"{where}: PIN must be an integer 1..999999")


def _validate_inventory(inv: Inventory) -> None:
    groups: dict[str, tuple[Any, ...]] = {
        "area": inv.areas,
        "zone": inv.zones,
        "output": inv.outputs,
        "light": inv.lights,
        "lock": inv.locks,
        "tstat": inv.tstats,
        "barrier": inv.barriers,
        "keypad": inv.keypads,
        "user": inv.users,
    }
    for domain, items in groups.items():
        size = inv.table_size(domain)
        seen: set[int] = set()
        for item in items:
            if not 1 <= item.id <= size:
                raise ScenarioError(f"{domain} {item.id}: id must be within 1..{size}")
            if item.id in seen:
                raise ScenarioError(f"{domain} {item.id}: duplicate id")
            seen.add(item.id)
            if not item.name.strip():
                raise ScenarioError(f"{domain} {item.id}: name must not be empty")
    area_ids = {area.id for area in inv.areas}
    if not area_ids:
        raise ScenarioError("inventory needs at least one area")
    if "UNDEFINED" not in inv.definitions:
        raise ScenarioError("inventory.definitions must include UNDEFINED")
    for domain, items in groups.items():
        if domain in ("area", "output", "user"):
            continue
        for item in items:
            if item.area_id not in area_ids:
                raise ScenarioError(f"{domain} {item.id}: area {item.area_id} is not configured")
    for zone in inv.zones:
        if zone.definition not in inv.definitions:
            raise ScenarioError(
                f"zone {zone.id}: definition {zone.definition!r} is not one of "
                f"{', '.join(inv.definitions)}"
            )
    pins: set[int] = set()
    for user in inv.users:
        _check_pin(user.pin, f"user {user.id}")
        if user.pin in pins:
            raise ScenarioError(f"user {user.id}: PIN already used by another user")
        pins.add(user.pin)
        if not LEVEL_ANY_USER <= user.level <= LEVEL_INSTALLER:
            raise ScenarioError(f"user {user.id}: level must be 2 (user), 3 (master) or 4")
        for area_id in user.areas:
            if area_id not in area_ids:
                raise ScenarioError(f"user {user.id}: area {area_id} is not configured")
    if inv.rules < 0 or inv.log_capacity < 1:
        raise ScenarioError("inventory: rules must be >= 0 and log_capacity >= 1")


# --------------------------------------------------------------------------- profiles


def _zones(counts: P.ProfileCounts, n_areas: int) -> tuple[Zone, ...]:
    specs: list[tuple[str, str, bool]] = []  # name, definition, wireless
    for i in range(counts.contacts):
        if i < len(P.DOOR_NAMES):
            name = P.DOOR_NAMES[i]
            definition = "BURG_PERIM_DELAY" if i < 3 else "BURG_PERIM_INST"
        else:
            j = i - len(P.DOOR_NAMES)
            name = P.cycle_name(P.ROOMS, j, "Window")
            definition = "BURG_PERIM_INST"
        specs.append((name, definition, i % 3 == 2))
    for i in range(counts.motion):
        definition = "BURG_INTERIOR_FOLLOWER" if i % 2 == 0 else "BURG_INTERIOR"
        specs.append((P.cycle_name(P.ROOMS, i, P.MOTION_SUFFIX), definition, False))
    for i in range(counts.smoke):
        kind, definition = P.SMOKE_KINDS[i % len(P.SMOKE_KINDS)]
        room = P.cycle_name(P.ROOMS, (i // 2) * 7 + 4)
        specs.append((f"{room} {kind}", definition, True))
    for i in range(counts.water):
        kind, definition = P.WATER_KINDS[i % len(P.WATER_KINDS)]
        place = P.cycle_name(P.WATER_PLACES, i)
        specs.append((f"{place} {kind}", definition, True))
    total = len(specs) + counts.undefined
    zones: list[Zone] = []
    every = total // counts.undefined if counts.undefined else 0
    spec_iter = iter(specs)
    undefined_left = counts.undefined
    for zone_id in range(1, total + 1):
        if undefined_left and every and zone_id % every == 0:
            undefined_left -= 1
            zones.append(Zone(zone_id, f"Zone {zone_id:03d}", 1, "UNDEFINED", bypassable=False))
            continue
        name, definition, wireless = next(spec_iter, ("", "", False))
        if not name:  # undefined zones not yet placed go at the end
            undefined_left -= 1
            zones.append(Zone(zone_id, f"Zone {zone_id:03d}", 1, "UNDEFINED", bypassable=False))
            continue
        area_id = 1 + (zone_id - 1) * n_areas // total
        zones.append(
            Zone(
                zone_id,
                name,
                area_id,
                definition,
                bypassable=definition not in NOT_BYPASSABLE_DEFINITIONS,
                wireless=wireless,
            )
        )
    return tuple(zones)


def _users(count: int, n_areas: int) -> tuple[User, ...]:
    users: list[User] = []
    for i in range(count):
        user_id = i + 1
        if i == 0:
            users.append(User(1, "Owner", 1234, group_id=1, level=LEVEL_MASTER))
        elif i == count - 1 and count > 2:
            users.append(User(user_id, "Installer", 9713, group_id=3, level=LEVEL_INSTALLER))
        else:
            name = P.cycle_name(P.USER_NAMES, i)
            areas = () if n_areas == 1 else (1 + (i % n_areas),)
            # Distinct four-to-six digit codes that never collide with 1234 or 9713.
            pin = 2000 + i * 37 if count <= 200 else 200000 + i * 37
            users.append(User(user_id, name, pin, group_id=2, level=LEVEL_ANY_USER, areas=areas))
    return tuple(users)


def profile_config(name: str) -> SimulatorConfig:
    """The built-in ``small`` / ``large`` / ``max`` panel."""
    if name not in P.PROFILE_COUNTS:
        raise ScenarioError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    counts = P.PROFILE_COUNTS[name]
    n_areas = counts.areas

    def spread(index: int, count: int) -> int:
        return 1 + index * n_areas // max(count, 1)

    inventory = Inventory(
        areas=tuple(Area(i + 1, P.AREA_NAMES[i % len(P.AREA_NAMES)]) for i in range(n_areas)),
        zones=_zones(counts, n_areas),
        outputs=tuple(
            Output(i + 1, P.OUTPUT_NAMES[i] if i < len(P.OUTPUT_NAMES) else f"Output {i + 1}")
            for i in range(counts.outputs)
        ),
        lights=tuple(
            Light(
                i + 1,
                P.cycle_name(P.ROOMS, i, "Lights" if i % 3 else "Dimmer"),
                spread(i, counts.lights),
                dimmable=i % 3 == 0,
            )
            for i in range(counts.lights)
        ),
        locks=tuple(
            Lock(i + 1, P.cycle_name(P.LOCK_NAMES, i), spread(i, counts.locks))
            for i in range(counts.locks)
        ),
        tstats=tuple(
            Tstat(i + 1, P.cycle_name(P.TSTAT_NAMES, i), spread(i, counts.tstats))
            for i in range(counts.tstats)
        ),
        barriers=tuple(
            Barrier(i + 1, P.cycle_name(P.BARRIER_NAMES, i), spread(i, counts.barriers))
            for i in range(counts.barriers)
        ),
        keypads=tuple(
            Keypad(i + 1, P.cycle_name(P.KEYPAD_PLACES, i, "Keypad"), spread(i, counts.keypads))
            for i in range(counts.keypads)
        ),
        users=_users(counts.users, n_areas),
        rules=counts.rules,
        log_capacity=counts.log_capacity,
    )
    return SimulatorConfig(
        identity=Identity(name=f"E27 Simulator ({name})"),
        inventory=inventory,
        profile=name,
    )


# --------------------------------------------------------------------------- scenario loader


_SECTIONS: dict[str, type[Any]] = {
    "identity": Identity,
    "credentials": Credentials,
    "network": Network,
    "timings": Timings,
    "behaviour": Behaviour,
    "faults": FaultConfig,
    "activity": ActivityConfig,
    "initial": InitialState,
}

_ENTITY_LISTS: dict[str, type[Any]] = {
    "areas": Area,
    "zones": Zone,
    "outputs": Output,
    "lights": Light,
    "locks": Lock,
    "tstats": Tstat,
    "barriers": Barrier,
    "keypads": Keypad,
    "users": User,
}

_INVENTORY_SCALARS = ("definitions", "rules", "log_capacity", "table_elements")


def _convert(value: Any, hint: Any, where: str) -> Any:
    """Check and convert one TOML value to the dataclass field type ``hint``."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ScenarioError(f"{where}: {value!r} is not one of {choices}")
        return value
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(value, args[0], where)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ScenarioError(f"{where}: expected a list")
        return tuple(_convert(v, item_hint, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected a string, got {value!r}")
        return value
    raise ScenarioError(f"{where}: unsupported setting")  # pragma: no cover - programming error


def _kwargs(cls: type[Any], table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
        )
    return {key: _convert(value, hints[key], f"{where}.{key}") for key, value in table.items()}


def _build(cls: type[Any], table: Any, where: str, base: Any = None) -> Any:
    kwargs = _kwargs(cls, table, where)
    try:
        return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ScenarioError(f"{where}: {exc}") from None


def _inventory(table: Any, base: Inventory) -> Inventory:
    if not isinstance(table, dict):
        raise ScenarioError("inventory: expected a table")
    unknown = sorted(set(table) - set(_ENTITY_LISTS) - set(_INVENTORY_SCALARS))
    if unknown:
        raise ScenarioError(f"inventory: unknown key(s) {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    for key, cls in _ENTITY_LISTS.items():
        if key in table:
            items = table[key]
            if not isinstance(items, list):
                raise ScenarioError(f"inventory.{key}: expected an array of tables ([[...]])")
            changes[key] = tuple(
                _build(cls, item, f"inventory.{key}[{i}]") for i, item in enumerate(items)
            )
    if "definitions" in table:
        changes["definitions"] = _convert(
            table["definitions"], tuple[str, ...], "inventory.definitions"
        )
    for key in ("rules", "log_capacity"):
        if key in table:
            changes[key] = _convert(table[key], int, f"inventory.{key}")
    if "table_elements" in table:
        sizes = table["table_elements"]
        if not isinstance(sizes, dict):
            raise ScenarioError("inventory.table_elements: expected a table")
        merged = dict(base.table_elements)
        for domain, size in sizes.items():
            if domain not in P.TABLE_ELEMENTS:
                raise ScenarioError(f"inventory.table_elements: unknown domain {domain!r}")
            merged[domain] = _convert(size, int, f"inventory.table_elements.{domain}")
            if not 1 <= merged[domain] <= 1024:
                raise ScenarioError(f"inventory.table_elements.{domain} must be 1..1024")
        changes["table_elements"] = merged
    return dataclasses.replace(base, **changes)


def config_from_mapping(data: Mapping[str, Any], source: str = "scenario") -> SimulatorConfig:
    """Build a config from parsed TOML: start from ``profile`` (default small), apply sections."""
    try:
        return _from_mapping(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def _from_mapping(data: Mapping[str, Any]) -> SimulatorConfig:
    known = {"profile", "seed", "inventory", *_SECTIONS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(
            f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    profile = data.get("profile", "small")
    if not isinstance(profile, str):
        raise ScenarioError("profile: expected a string")
    config = profile_config(profile)
    changes: dict[str, Any] = {}
    if "seed" in data:
        changes["seed"] = _convert(data["seed"], int, "seed")
    for key, cls in _SECTIONS.items():
        if key in data:
            changes[key] = _build(cls, data[key], key, base=getattr(config, key))
    if "inventory" in data:
        changes["inventory"] = _inventory(data["inventory"], config.inventory)
        changes["profile"] = f"{profile}+scenario"
    return dataclasses.replace(config, **changes)


def load_scenario(path: str | Path) -> SimulatorConfig:
    """Load a TOML scenario (format in docs/simulator-scenario.md); errors name the file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror}") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    return config_from_mapping(data, str(path))
