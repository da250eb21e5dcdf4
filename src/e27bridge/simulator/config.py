"""Simulator configuration: who the panel is, its inventory, and the built-in profiles.

The whole simulated panel is described by one immutable ``SimulatorConfig``; its run-time
settings (timers, behaviour, faults, activity) are in settings.py. Profiles give the
realistic inventories of ecosystem §7.1; a scenario file (scenario.py,
docs/simulator-scenario.md) starts from a profile and overrides any part. The CLI applies
its flags with ``dataclasses.replace`` (and ``with_user_pin`` for ``--user-pin``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.discovery import normalize_mac
from e27bridge.simulator import profiles as P
from e27bridge.simulator.profiles import NOT_BYPASSABLE_DEFINITIONS
from e27bridge.simulator.settings import (
    FORBID,
    ActivityConfig,
    Behaviour,
    Bool,
    FaultConfig,
    InitialState,
    Int,
    ScenarioError,
    Str,
    Timings,
)

__all__ = [
    "ActivityConfig",
    "Behaviour",
    "FaultConfig",
    "InitialState",
    "ScenarioError",
    "Timings",
]

PROFILES: tuple[str, ...] = ("small", "large", "max")

LEVEL_ANY_USER = 2
LEVEL_MASTER = 3
LEVEL_INSTALLER = 4
PIN_MIN = 1
PIN_MAX = 999999

# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class Identity:
    __pydantic_config__ = FORBID
    name: Str = "E27 Simulator"
    mac: Str = "0050C2E27001"
    serial: Str = "E27SIM000001"
    hardware: Str = "E27-100"
    firmware: Str = "1.4.12"
    boot: Str = "1.0.6"
    ssp: Str = "3.2.1"
    build_datetime: Str = "2024-05-14 10:21:00"
    version_sn: Str = "00000001"  # what get_version_info reports (a placeholder, §17 item 19)

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

    __pydantic_config__ = FORBID
    access_code: Str = field(default="12345678", repr=False)
    passphrase: Str = field(default="simulator", repr=False)
    link_slots: Int = 4

    def __post_init__(self) -> None:
        if not self.access_code or not self.passphrase:
            raise ScenarioError("credentials: access_code and passphrase must not be empty")
        if self.link_slots < 1:
            raise ScenarioError("credentials.link_slots must be at least 1")


@dataclass(frozen=True, slots=True)
class Network:
    __pydantic_config__ = FORBID
    host: Str = "127.0.0.1"
    port: Int = 2101
    discovery_port: Int = 2362
    tls_port: Int = 0

    def __post_init__(self) -> None:
        for name in ("port", "discovery_port", "tls_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise ScenarioError(f"network.{name} must be 0..65535, got {value}")


@dataclass(frozen=True, slots=True)
class Area:
    __pydantic_config__ = FORBID
    id: Int
    name: Str


@dataclass(frozen=True, slots=True)
class Zone:
    __pydantic_config__ = FORBID
    id: Int
    name: Str
    area_id: Int = 1
    definition: Str = "BURG_PERIM_INST"
    bypassable: Bool = True
    wireless: Bool = False


@dataclass(frozen=True, slots=True)
class Output:
    __pydantic_config__ = FORBID
    id: Int
    name: Str


@dataclass(frozen=True, slots=True)
class Light:
    __pydantic_config__ = FORBID
    id: Int
    name: Str
    area_id: Int = 1
    dimmable: Bool = True


@dataclass(frozen=True, slots=True)
class Device:
    """A lock, thermostat, barrier or keypad: its configuration is only where it is."""

    __pydantic_config__ = FORBID
    id: Int
    name: Str
    area_id: Int = 1


Lock = Device
Tstat = Device
Barrier = Device
Keypad = Device


@dataclass(frozen=True, slots=True)
class User:
    """A panel user; ``areas`` empty means every area. The PIN never appears in repr."""

    __pydantic_config__ = FORBID
    id: Int
    name: Str
    pin: Int = field(repr=False)
    group_id: Int = 1
    level: Int = LEVEL_ANY_USER
    areas: tuple[Int, ...] = ()

    @property
    def installer(self) -> bool:
        return self.level >= LEVEL_INSTALLER


@dataclass(frozen=True, slots=True)
class Inventory:
    __pydantic_config__ = FORBID
    areas: tuple[Area, ...] = (Area(1, "Area 1"),)
    zones: tuple[Zone, ...] = ()
    outputs: tuple[Output, ...] = ()
    lights: tuple[Light, ...] = ()
    locks: tuple[Lock, ...] = ()
    tstats: tuple[Tstat, ...] = ()
    barriers: tuple[Barrier, ...] = ()
    keypads: tuple[Keypad, ...] = ()
    users: tuple[User, ...] = ()
    definitions: tuple[Str, ...] = P.ZONE_DEFINITIONS
    rules: Int = 4
    log_capacity: Int = 250
    table_elements: Mapping[Str, Int] = field(default_factory=lambda: dict(P.TABLE_ELEMENTS))

    def __post_init__(self) -> None:
        _validate_inventory(self)

    def table_size(self, domain: str) -> int:
        return self.table_elements.get(domain, 0)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    __pydantic_config__ = FORBID
    identity: Identity = field(default_factory=Identity)
    credentials: Credentials = field(default_factory=Credentials)
    network: Network = field(default_factory=Network)
    inventory: Inventory = field(default_factory=Inventory)
    timings: Timings = field(default_factory=Timings)
    behaviour: Behaviour = field(default_factory=Behaviour)
    faults: FaultConfig = field(default_factory=FaultConfig)
    activity: ActivityConfig = field(default_factory=ActivityConfig)
    initial: InitialState = field(default_factory=InitialState)
    seed: Int | None = None
    profile: Str = "custom"

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
        _check_ids(domain, items, inv.table_size(domain))
    area_ids = {area.id for area in inv.areas}
    if not area_ids:
        raise ScenarioError("inventory needs at least one area")
    if "UNDEFINED" not in inv.definitions:
        raise ScenarioError("inventory.definitions must include UNDEFINED")
    for domain, items in groups.items():
        if domain not in ("area", "output", "user"):
            for item in items:
                if item.area_id not in area_ids:
                    raise ScenarioError(
                        f"{domain} {item.id}: area {item.area_id} is not configured"
                    )
    for zone in inv.zones:
        if zone.definition not in inv.definitions:
            raise ScenarioError(
                f"zone {zone.id}: definition {zone.definition!r} is not one of "
                f"{', '.join(inv.definitions)}"
            )
    _check_users(inv.users, area_ids)
    if inv.rules < 0 or inv.log_capacity < 1:
        raise ScenarioError("inventory: rules must be >= 0 and log_capacity >= 1")


def _check_ids(domain: str, items: tuple[Any, ...], size: int) -> None:
    seen: set[int] = set()
    for item in items:
        if not 1 <= item.id <= size:
            raise ScenarioError(f"{domain} {item.id}: id must be within 1..{size}")
        if item.id in seen:
            raise ScenarioError(f"{domain} {item.id}: duplicate id")
        seen.add(item.id)
        if not item.name.strip():
            raise ScenarioError(f"{domain} {item.id}: name must not be empty")


def _check_users(users: tuple[User, ...], area_ids: set[int]) -> None:
    pins: set[int] = set()
    for user in users:
        _check_pin(user.pin, f"user {user.id}")
        if user.pin in pins:
            raise ScenarioError(f"user {user.id}: PIN already used by another user")
        pins.add(user.pin)
        if not LEVEL_ANY_USER <= user.level <= LEVEL_INSTALLER:
            raise ScenarioError(f"user {user.id}: level must be 2 (user), 3 (master) or 4")
        for area_id in user.areas:
            if area_id not in area_ids:
                raise ScenarioError(f"user {user.id}: area {area_id} is not configured")


# --------------------------------------------------------------------------- profiles


def _zones(counts: P.ProfileCounts, n_areas: int) -> tuple[Zone, ...]:
    specs: list[tuple[Str, Str, Bool]] = []  # name, definition, wireless
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
