"""The configuration's shape and rules: one pydantic model per section, validated as a whole.

Secrets are held as ``SecretStr`` so they never reach a repr, a log line or ``check-config``
output; ``*_file`` options read them from files (systemd credentials, Docker secrets).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.protocol.discovery import normalize_mac

_HOMIE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ENV_REF = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def _located(path: str, message: str) -> PydanticCustomError:
    """An error that names a key below the validator's own location."""
    return PydanticCustomError("e27_located", "{message}", {"path": path, "message": message})


# --- field types -----------------------------------------------------------------------------


def _mac(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string like 00:11:22:33:44:aa")
    return normalize_mac(value)


def _topic_prefix(value: object) -> object:
    if isinstance(value, str):
        if not value or value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError("must be non-empty with no leading, trailing or double '/'")
        if any(ch in value for ch in "+#\x00") or value.startswith("$"):
            raise ValueError("must not contain MQTT wildcards ('+', '#') or start with '$'")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _str_of_number(value: object) -> object:
    """``protocol = 5`` in TOML is an integer; accept it as the string ``"5"``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _homie_id(value: object) -> object:
    if isinstance(value, str) and not _HOMIE_ID.match(value):
        raise ValueError(
            f"{value!r} is not a Homie id: use lowercase a-z, 0-9 and '-', "
            "not starting with '-', at most 64 characters"
        )
    return value


def _homie_versions(value: object) -> object:
    """One or both of 5 and 4, each once (``[5]``, ``[4]``, ``[5, 4]``); from the
    environment as ``5,4``."""
    if isinstance(value, str):
        value = [int(v) if v.strip().isdigit() else v for v in value.strip("[] ").split(",")]
    if isinstance(value, list) and len(set(value)) != len(value):
        raise ValueError("each Homie version at most once")
    return value


def _homie5_only() -> list[Literal[5, 4]]:
    return [5]


HomieId = Annotated[str, BeforeValidator(_homie_id)]
HomieVersions = Annotated[
    list[Literal[5, 4]], BeforeValidator(_homie_versions), Field(min_length=1, max_length=2)
]
MacAddress = Annotated[str, BeforeValidator(_mac)]
TopicPrefix = Annotated[str, BeforeValidator(_topic_prefix)]
Port = Annotated[int, Field(ge=1, le=65535)]
Hostname = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[^\s/]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expand_env(raw: str, env: Mapping[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        if name not in env:
            raise ValueError(f"${name} is not set in the environment")
        return env[name]

    return _ENV_REF.sub(sub, raw)


def _read_secret_files(data: Any, pairs: Mapping[str, str], info: ValidationInfo) -> Any:
    """Fill each secret from its ``*_file`` option: read at load, trailing newline stripped.

    ``$VAR`` in the path is expanded (``$CREDENTIALS_DIRECTORY/mqtt`` under systemd).
    """
    if not isinstance(data, dict):
        return data
    env: Mapping[str, str] = (info.context or {}).get("env", os.environ)
    out = dict(data)
    for secret_key, file_key in pairs.items():
        raw = out.get(file_key)
        if raw is None:
            continue
        if out.get(secret_key) is not None:
            raise _located(secret_key, f"set only one of {secret_key} and {file_key}")
        if not isinstance(raw, str | os.PathLike):
            raise _located(file_key, "must be a file path")
        try:
            path = Path(_expand_env(os.fspath(raw), env))
            text = path.read_text(encoding="utf-8")
        except ValueError as exc:
            raise _located(file_key, str(exc)) from None
        except OSError as exc:
            raise _located(file_key, f"cannot read {raw}: {exc.strerror or exc}") from None
        value = text.rstrip("\r\n")
        if not value:
            raise _located(file_key, f"{path} is empty")
        out[file_key] = str(path)
        out[secret_key] = value
    return out


# --- sections --------------------------------------------------------------------------------


class TlsConfig(_Model):
    """TLS to the broker; off by default (set ``mqtt.port = 8883`` when enabling it)."""

    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    server_name: Hostname | None = None

    @model_validator(mode="after")
    def _files(self) -> TlsConfig:
        if self.key_file is not None and self.cert_file is None:
            raise _located("key_file", "needs cert_file as well")
        if self.enabled:
            for name in ("ca_file", "cert_file", "key_file"):
                path = getattr(self, name)
                if path is not None and not path.is_file():
                    raise _located(name, f"{path} does not exist or is not a file")
        return self


class MqttConfig(_Model):
    host: Hostname = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    client_id: Annotated[str, StringConstraints(pattern=r"^[^\s+#/]{1,128}$")] | None = None
    keepalive: Annotated[int, Field(ge=5, le=3600)] = 60
    protocol: Annotated[Literal["auto", "5", "3.1.1"], BeforeValidator(_str_of_number)] = "auto"
    reconnect_min_backoff: Annotated[float, Field(gt=0, le=3600)] = 1.0
    reconnect_max_backoff: Annotated[float, Field(gt=0, le=3600)] = 60.0
    tls: TlsConfig = Field(default_factory=TlsConfig)

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any, info: ValidationInfo) -> Any:
        return _read_secret_files(data, {"password": "password_file"}, info)

    @model_validator(mode="after")
    def _backoff(self) -> MqttConfig:
        if self.reconnect_min_backoff > self.reconnect_max_backoff:
            raise _located("reconnect_min_backoff", "must not exceed reconnect_max_backoff")
        if self.password is not None and self.username is None:
            raise _located("username", "required when a password is set")
        return self


class BridgeConfig(_Model):
    id: HomieId = "e27bridge"
    base_topic: TopicPrefix = "e27bridge"
    homie_prefix: TopicPrefix = "homie"
    homie_versions: HomieVersions = Field(default_factory=_homie5_only)
    discovery_prefix: TopicPrefix = "homeassistant"
    state_dir: Path = Path("/var/lib/e27bridge")
    ha_birth_topic: TopicPrefix = "homeassistant/status"
    ha_republish_delay: Annotated[float, Field(ge=0, le=300)] = 5.0
    # Home Assistant discovery: one config per panel, one per entity (older HA, openHAB
    # before 5.2, Domoticz, ioBroker), or none; the other forms' configs are removed.
    discovery_mode: Literal["device", "component", "off"] = "device"
    coalesce_ms: Annotated[int, Field(ge=0, le=250)] = 0
    read_only: bool = False  # every panel publishes only and refuses every command
    # Seconds a stored panel configuration is trusted before a full read (ADR-0014).
    inventory_max_age: Annotated[float, Field(ge=0, le=31_536_000)] = 86400.0


class LoggingConfig(_Model):
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class RttBackoffConfig(_Model):
    """Extra gap between requests while the panel's round trips rise (ADR-0015)."""

    enabled: bool = True
    threshold: Annotated[float, Field(ge=0, le=10)] = 0.02
    ratio: Annotated[float, Field(ge=1, le=100)] = 2.0
    gain: Annotated[float, Field(ge=0, le=10)] = 1.0
    max_gap: Annotated[float, Field(ge=0, le=60)] = 1.0


class QueueConfig(_Model):
    """Per-panel request queue defaults (ADR-0004)."""

    depth: Annotated[int, Field(ge=1, le=10000)] = 64
    command_max_age: Annotated[float, Field(gt=0, le=3600)] = 10.0
    min_interval: Annotated[float, Field(ge=0, le=10)] = 0.05
    request_timeout: Annotated[float, Field(gt=0, le=120)] = 5.0
    rtt_backoff: RttBackoffConfig = Field(default_factory=RttBackoffConfig)


class EntityOverride(_Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    device_class: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,64}$")] | None = None
    exclude: bool = False


def _entity_id(value: object) -> object:
    """``<kind>-<N>`` for every kind published on MQTT (the node id)."""
    kinds = [kind.value for kind in MQTT_KINDS]
    if isinstance(value, str) and not re.fullmatch(
        rf"({'|'.join(kinds)})-[1-9][0-9]{{0,3}}", value
    ):
        names = [f"{k}-N" for k in kinds]
        raise ValueError(f"not an entity id ({', '.join(names[:-1])} or {names[-1]})")
    return value


EntityId = Annotated[str, BeforeValidator(_entity_id)]
# A node id or an fnmatch pattern of them (``output-*``, ``zone-1?``) in an allow-list.
NodePattern = Annotated[str, StringConstraints(pattern=r"^[a-z0-9*?\[\]!-]{1,32}$")]


class PanelConfig(_Model):
    """One panel; its MAC is its identity, ``host`` only a hint kept fresh by rediscovery."""

    id: HomieId
    mac: MacAddress
    host: Hostname | None = None
    port: Port = 2101
    discovery_port: Port = 2362
    access_code: SecretStr | None = None
    access_code_file: Path | None = None
    passphrase: SecretStr | None = None
    passphrase_file: Path | None = None
    bypass_code: SecretStr | None = None
    bypass_code_file: Path | None = None
    entities: dict[EntityId, EntityOverride] = Field(default_factory=dict)
    read_only: bool = False  # publish only: every command is refused (reason read_only)
    commands: list[NodePattern] | None = None  # only these nodes take commands (not_allowed)
    arm_bypass_open: bool = False  # HA's arm buttons bypass open zones first (ADR-0012)
    tap: bool = False  # publish the decoded, redacted traffic to <base_topic>/<id>/tap

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any, info: ValidationInfo) -> Any:
        data = _read_secret_files(
            data,
            {
                "access_code": "access_code_file",
                "passphrase": "passphrase_file",
                "bypass_code": "bypass_code_file",
            },
            info,
        )
        if isinstance(data, dict) and data.get("id") is None:
            try:
                derived = f"e27-{_mac(data.get('mac')).lower()}"
            except ValueError:
                derived = "e27-unknown"  # the MAC error is what gets reported
            data = {**data, "id": derived}
        return data

    @model_validator(mode="after")
    def _pairs(self) -> PanelConfig:
        if (self.access_code is None) != (self.passphrase is None):
            missing = "passphrase" if self.passphrase is None else "access_code"
            raise _located(missing, "access_code and passphrase are needed together")
        if self.bypass_code is not None:
            code = self.bypass_code.get_secret_value()
            if not (code.isascii() and code.isdigit() and 1 <= len(code) <= 6) or code[0] == "0":
                raise _located("bypass_code", "must be 1 to 6 digits without a leading zero")
        return self


def _listen_address(value: object) -> object:
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if not sep or not host.strip("[]") or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"expected HOST:PORT like 127.0.0.1:9127, got {value!r}")
    return value


class MetricsConfig(_Model):
    """Prometheus metrics over HTTP; off unless ``listen`` is set."""

    listen: Annotated[str, BeforeValidator(_listen_address)] | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class Config(_Model):
    """The whole daemon configuration; build it with :func:`load_config`."""

    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    bridge: BridgeConfig = Field(default_factory=BridgeConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    panels: list[PanelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Config:
        seen_mac: dict[str, int] = {}
        seen_id: dict[str, int] = {}
        for i, panel in enumerate(self.panels):
            if panel.mac in seen_mac:
                raise _located(
                    f"panels[{i}].mac", f"duplicate of panels[{seen_mac[panel.mac]}].mac"
                )
            if panel.id in seen_id:
                raise _located(f"panels[{i}].id", f"duplicate of panels[{seen_id[panel.id]}].id")
            if panel.id == self.bridge.id:
                raise _located(f"panels[{i}].id", "must differ from bridge.id")
            seen_mac[panel.mac] = i
            seen_id[panel.id] = i
        return self

    @property
    def mqtt_client_id(self) -> str:
        """The MQTT client id: explicit, or derived from the bridge id (stable across restarts)."""
        return self.mqtt.client_id or self.bridge.id

    def panel(self, panel_id: str) -> PanelConfig | None:
        return next((p for p in self.panels if p.id == panel_id), None)
