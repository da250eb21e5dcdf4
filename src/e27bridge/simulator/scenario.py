"""The TOML scenario loader (docs/simulator-scenario.md): a profile, then overrides.

Types are checked by pydantic against the configuration dataclasses themselves (strict
scalars, unknown keys forbidden); every error names its TOML key path, e.g.
``inventory.zones[3].area_id: expected an integer, got '2'``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from e27bridge.simulator import profiles as P
from e27bridge.simulator.config import (
    Credentials,
    Identity,
    Inventory,
    Network,
    SimulatorConfig,
    profile_config,
)
from e27bridge.simulator.settings import (
    ActivityConfig,
    Behaviour,
    FaultConfig,
    InitialState,
    ScenarioError,
    Timings,
)

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
_TOP = ("profile", "seed", "inventory", *_SECTIONS)
_ENTITY_LISTS = frozenset(
    ("areas", "zones", "outputs", "lights", "locks", "tstats", "barriers", "keypads", "users")
)

_MESSAGES = {
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "tuple_type": "expected a list",
    "dict_type": "expected a table",
    "dataclass_type": "expected a table",
    "missing_argument": "missing",
    "missing": "missing",
    "unexpected_keyword_argument": "unknown key",
}


def _path(where: str, loc: tuple[int | str, ...]) -> str:
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _message(error: ErrorDetails, where: str) -> str:
    kind = error["type"]
    path = _path(where, error["loc"])
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{path}: {error['input']!r} is not one of {expected}"
    if kind == "value_error":  # from __post_init__: its own message already says what
        message = str(error["msg"]).removeprefix("Value error, ")
        return message if message.startswith(f"{path}.") else f"{path}: {message}"
    if kind in _MESSAGES:
        got = "" if kind.startswith("missing") else f", got {error['input']!r}"
        if kind == "unexpected_keyword_argument":
            got = ""
        return f"{path}: {_MESSAGES[kind]}{got}"
    return f"{path}: {error['msg']}"


def _validate(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where}: expected a table")
    try:
        return TypeAdapter(cls).validate_python(dict(data))
    except ValidationError as exc:
        raise ScenarioError(_message(exc.errors()[0], where)) from None


def _section(cls: type[Any], table: Any, where: str, base: Any) -> Any:
    """``base`` with ``table``'s keys replaced, validated as a whole."""
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{where}: expected a table")
    current = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return _validate(cls, {**current, **table}, where)


def _inventory(table: Any, base: Inventory) -> Inventory:
    if not isinstance(table, Mapping):
        raise ScenarioError("inventory: expected a table")
    for key, value in table.items():
        if key in _ENTITY_LISTS and not isinstance(value, list):
            raise ScenarioError(f"inventory.{key}: expected an array of tables ([[...]])")
    merged = dict(table)
    if "table_elements" in table:
        sizes = table["table_elements"]
        if not isinstance(sizes, Mapping):
            raise ScenarioError("inventory.table_elements: expected a table")
        for domain in sizes:
            if domain not in P.TABLE_ELEMENTS:
                raise ScenarioError(f"inventory.table_elements: unknown domain {domain!r}")
        merged["table_elements"] = {**base.table_elements, **sizes}
    inventory: Inventory = _section(Inventory, merged, "inventory", base)
    return inventory


def config_from_mapping(data: Mapping[str, Any], source: str = "scenario") -> SimulatorConfig:
    """Build a config from parsed TOML: start from ``profile`` (default small), apply sections."""
    try:
        return _from_mapping(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def _from_mapping(data: Mapping[str, Any]) -> SimulatorConfig:
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise ScenarioError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(_TOP)}")
    profile = data.get("profile", "small")
    if not isinstance(profile, str):
        raise ScenarioError("profile: expected a string")
    config = profile_config(profile)
    changes: dict[str, Any] = {}
    if "seed" in data:
        seed = data["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ScenarioError(f"seed: expected an integer, got {seed!r}")
        changes["seed"] = seed
    for key, cls in _SECTIONS.items():
        if key in data:
            changes[key] = _section(cls, data[key], key, getattr(config, key))
    if "inventory" in data:
        changes["inventory"] = _inventory(data["inventory"], config.inventory)
        changes["profile"] = f"{profile}+scenario"
    try:
        return dataclasses.replace(config, **changes)
    except ScenarioError:
        raise
    except ValueError as exc:  # pragma: no cover - a cross-section check without a path
        raise ScenarioError(str(exc)) from None


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
