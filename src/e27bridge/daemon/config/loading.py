"""Reading the configuration: the TOML file, then ``E27BRIDGE_<SECTION>__<KEY>`` over it.

Precedence is environment over file over defaults. Every validation problem is reported as
``key.path: problem`` (naming the variable when it came from the environment) so the user
knows what to fix.
"""

from __future__ import annotations

import argparse
import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import (
    BaseModel,
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    SettingsConfigDict,
)

from e27bridge.daemon.config.models import (
    BridgeConfig,
    Config,
    LoggingConfig,
    MetricsConfig,
    MqttConfig,
    PanelConfig,
    QueueConfig,
)

DEFAULT_CONFIG_PATH = Path("/etc/e27bridge/config.toml")
CONFIG_PATH_ENV = "E27BRIDGE_CONFIG"
ENV_PREFIX = "E27BRIDGE_"
ENV_DELIMITER = "__"


class ConfigError(Exception):
    """Invalid configuration; ``problems`` holds one ``key.path: problem`` line each."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in problems))


# --- loading ---------------------------------------------------------------------------------


class _EnvShape(BaseSettings):
    """The configuration's shape as pydantic-settings sees it, to explode ``E27BRIDGE_`` vars.

    Only used to read the environment; :class:`Config` validates the merged result (a
    ``BaseSettings`` model would not pass the validation context on to nested models).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        case_sensitive=False,
        extra="ignore",
    )

    mqtt: MqttConfig | None = None
    bridge: BridgeConfig | None = None
    logging: LoggingConfig | None = None
    queue: QueueConfig | None = None
    metrics: MetricsConfig | None = None
    panels: list[PanelConfig] | None = None


def _env_data(env: Mapping[str, str]) -> dict[str, Any]:
    """pydantic-settings' environment source over ``env`` (not os.environ): nested data."""
    source = EnvSettingsSource(_EnvShape)
    source.env_vars = {k.lower(): v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}
    return source()


def _merge(base: Any, override: Any, path: str) -> Any:
    """Deep-merge the environment over the file; ``PANELS__0__HOST`` addresses list items."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            sub = f"{path}.{key}" if path else str(key)
            merged[key] = _merge(base[key], value, sub) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, dict):
        items = list(base)
        for key in sorted(override, key=lambda k: int(k) if str(k).isdigit() else -1):
            if not str(key).isdigit():
                raise ConfigError([f"{path}.{key}: not a list index (use {path}__0__...)"])
            index = int(key)
            if index < len(items):
                items[index] = _merge(items[index], override[key], f"{path}[{index}]")
            elif index == len(items):
                items.append(override[key])
            else:
                raise ConfigError([f"{path}[{index}]: index skips {path}[{len(items)}]"])
        return items
    return override


def _env_paths(data: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if isinstance(data, dict):
        paths: set[tuple[str, ...]] = set()
        for key, value in data.items():
            paths |= _env_paths(value, (*prefix, str(key)))
        return paths
    return {prefix}


def _format_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "config"


def _overlaps(loc: tuple[str, ...], env_path: tuple[str, ...]) -> bool:
    return bool(env_path) and loc[: len(env_path)] == env_path


def _problems(exc: ValidationError, from_env: set[tuple[str, ...]]) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = _format_loc(tuple(err["loc"]))
        msg = err["msg"]
        ctx = err.get("ctx") or {}
        if err["type"] == "e27_located":
            sub = str(ctx["path"])
            loc = sub if loc == "config" else f"{loc}.{sub}"
            msg = str(ctx["message"])
        elif err["type"] == "extra_forbidden":
            msg = _unknown_key(tuple(err["loc"]))
        elif err["type"] == "missing":
            msg = "required"
        elif msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        parts = tuple(str(p) for p in err["loc"] if p != "[key]")
        env_hit = next((p for p in from_env if _overlaps(parts, p)), None)
        if env_hit is not None and err["type"] != "e27_located":
            msg += f" (from {ENV_PREFIX}{ENV_DELIMITER.join(env_hit).upper()})"
        lines.append(f"{loc}: {msg}")
    return lines


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class holding the key at ``loc`` (its last part), by walking the fields."""
    model: type[BaseModel] = Config
    keyed = False  # the last field was a dict: the next part is one of its keys
    for part in loc[:-1]:
        if isinstance(part, int) or part == "[key]" or keyed:
            keyed = False
            continue  # list index or dict key: the element type was taken with the field
        field = model.model_fields.get(part)
        found = _submodel(field.annotation) if field is not None else None
        if field is None or found is None:
            return None
        keyed = get_origin(field.annotation) is dict
        model = found
    return model


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    """``unknown key; did you mean `keepalive`?`` when a known key is close enough."""
    model = _model_at(loc)
    key = loc[-1] if loc else ""
    if model is None or not isinstance(key, str):
        return "unknown key"
    close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
    return f"unknown key `{key}`; did you mean `{close[0]}`?" if close else "unknown key"


MISSING_HINT = (
    "create it from config/example.toml in the e27bridge sources (every option with its "
    "default), or start with just:\n"
    '      [mqtt]\n      host = "127.0.0.1"\n'
    '      [[panels]]\n      mac = "00:11:22:33:44:aa"    # from `e27bridge discover`\n'
    "    then check it with `e27bridge check-config --config FILE`"
)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found; {MISSING_HINT}"], str(path)) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"], str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"], str(path)) from None


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$E27BRIDGE_CONFIG`` if set (the Docker image sets it), else /etc/e27bridge/config.toml."""
    env = os.environ if env is None else env
    value = env.get(CONFIG_PATH_ENV)
    return Path(value) if value else DEFAULT_CONFIG_PATH


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--config FILE`` option every daemon sub-command shares."""
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"configuration file (default: ${CONFIG_PATH_ENV} or {DEFAULT_CONFIG_PATH})",
    )


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (None: the default path), apply the environment, validate.

    Raises :class:`ConfigError` listing every problem as ``key.path: problem``.
    """
    env = dict(os.environ) if env is None else dict(env)
    path = default_config_path(env) if path is None else path
    file_data = _read_toml(path)
    try:
        env_data = _env_data(env)
    except ValueError as exc:  # a JSON-valued variable that is not JSON
        raise ConfigError([f"environment: {exc}"], str(path)) from None
    try:
        merged = _merge(file_data, env_data, "")
    except ConfigError as exc:
        raise ConfigError(
            [p.removeprefix(".") + " (from environment)" for p in exc.problems], str(path)
        ) from None
    try:
        return Config.model_validate(merged, context={"env": env})
    except ValidationError as exc:
        raise ConfigError(_problems(exc, _env_paths(env_data)), str(path)) from None
