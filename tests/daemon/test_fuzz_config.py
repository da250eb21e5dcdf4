"""Fuzz: the config loader turns any file and any environment into a Config or a ConfigError
naming problems (issue 9), never another exception. Files are arbitrary bytes or TOML built
from the real section and key names with values of every TOML type; the environment uses
``E27BRIDGE_`` names of the same keys, nested and as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e27bridge.daemon.config import Config, ConfigError, load_config
from fuzzing import fuzz

SECTIONS = {
    "mqtt": ["host", "port", "username", "password", "client_id", "keepalive", "protocol",
             "reconnect_min_backoff", "reconnect_max_backoff", "tls"],
    "bridge": ["id", "base_topic", "homie_prefix", "discovery_prefix", "ha_birth_topic",
               "ha_republish_delay", "discovery_mode", "coalesce_ms", "read_only"],
    "logging": ["level", "format"],
    "queue": ["depth", "command_max_age", "min_interval", "request_timeout", "rtt_backoff"],
    "metrics": ["listen"],
}  # fmt: skip
PANEL_KEYS = ["id", "mac", "host", "port", "discovery_port", "access_code", "passphrase",
              "bypass_code", "entities", "read_only", "commands"]  # fmt: skip

scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["00:11:22:33:44:AA", "home", "127.0.0.1", "5", "3.1.1", "DEBUG", "json", "0.0.0.0:9"]
    )
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["enabled", "x", "zone-1", "name"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def section(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from([*keys, "typo"]), values, max_size=4)


documents = st.fixed_dictionaries(
    {},
    optional={
        **{name: section(keys) for name, keys in SECTIONS.items()},
        "panels": st.lists(section(PANEL_KEYS), max_size=2),
        "extra": values,
    },
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, int) else json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml(document: dict[str, Any]) -> str:
    lines = []
    for name, body in document.items():
        if name == "panels":
            for panel in body:
                lines.append("[[panels]]")
                lines += [f"{k} = {toml_value(v)}" for k, v in panel.items()]
        elif isinstance(body, dict):
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items()]
        else:
            lines.insert(0, f"{name} = {toml_value(body)}")
    return "\n".join(lines) + "\n"


def loads(path: Path, env: dict[str, str]) -> None:
    try:
        config = load_config(path, env=env)
    except ConfigError as refused:
        assert refused.problems and all(isinstance(p, str) and p for p in refused.problems)
    else:
        assert isinstance(config, Config)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "config.toml"


@fuzz(3_000)
@given(documents | st.binary(max_size=120).map(lambda b: {"raw": b}))
def test_any_config_file_loads_or_names_its_problems(config_file: Path, document: Any) -> None:
    raw = document.get("raw") if isinstance(document.get("raw"), bytes) else None
    config_file.write_bytes(raw if raw is not None else toml(document).encode())
    loads(config_file, {})


env_names = st.sampled_from(
    [f"E27BRIDGE_{s.upper()}__{k.upper()}" for s, keys in SECTIONS.items() for k in keys]
    + [f"E27BRIDGE_PANELS__{i}__{k.upper()}" for i in (0, 1, 3) for k in PANEL_KEYS]
    + ["E27BRIDGE_MQTT", "E27BRIDGE_PANELS", "E27BRIDGE_PANELS__X__HOST", "E27BRIDGE_NOPE"]
)
env_values = st.text(max_size=12) | values.map(json.dumps)


@fuzz(1_000)
@given(st.dictionaries(env_names, env_values, max_size=4), st.booleans())
def test_any_environment_loads_or_names_its_problems(
    config_file: Path, env: dict[str, str], with_panel: bool
) -> None:
    panel = '[[panels]]\nid = "home"\nmac = "00:11:22:33:44:AA"\nhost = "127.0.0.1"\n'
    config_file.write_text(panel if with_panel else "")
    loads(config_file, {k: v.replace("\x00", "") for k, v in env.items()})
