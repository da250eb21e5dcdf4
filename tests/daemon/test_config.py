"""Configuration: file, environment, secret files, and key-path errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from e27bridge.daemon.config import (
    BridgeConfig,
    Config,
    ConfigError,
    EntityOverride,
    LoggingConfig,
    MetricsConfig,
    MqttConfig,
    PanelConfig,
    QueueConfig,
    RttBackoffConfig,
    TlsConfig,
    default_config_path,
    load_config,
)
from e27bridge.daemon.config.loading import _EnvShape

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
MAC = "00:11:22:33:44:aa"
MASK = "**********"  # how pydantic dumps a set SecretStr


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env or {})
    return info.value.problems


def test_example_config_loads_with_documented_values() -> None:
    config = load_config(EXAMPLE, {})
    assert config.mqtt.host == "127.0.0.1"
    assert config.mqtt.port == 1883
    assert config.bridge.id == "e27bridge"
    assert config.bridge.state_dir == Path("/var/lib/e27bridge")
    assert config.queue.depth == 64
    assert config.queue.command_max_age == 10.0
    panel = config.panels[0]
    assert isinstance(panel, PanelConfig)
    assert (panel.id, panel.mac, panel.host, panel.port) == (
        "home",
        "0011223344AA",
        "192.168.1.50",
        2101,
    )
    assert panel.entities["zone-3"].device_class == "door"
    assert panel.entities["output-2"].exclude is True


def test_example_documents_every_option() -> None:
    """Every field of every section appears in the example, set or commented out."""
    text = EXAMPLE.read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [
        Config,
        MqttConfig,
        TlsConfig,
        BridgeConfig,
        LoggingConfig,
        QueueConfig,
        RttBackoffConfig,
        MetricsConfig,
        PanelConfig,
        EntityOverride,
    ]
    for model in models:
        for name in model.model_fields:
            documented = (
                f"{name} =",
                f"{name} (",
                f"[{name}]",
                f"[[{name}]]",
                f".{name}]",
                f".{name}.",
            )
            assert any(form in text for form in documented), name


def test_defaults_match_example(tmp_path: Path) -> None:
    """The example's uncommented values are the defaults (apart from the panel)."""
    minimal = load_config(write(tmp_path, f'[[panels]]\nid = "home"\nmac = "{MAC}"\n'), {})
    example = load_config(EXAMPLE, {})
    for section in ("mqtt", "bridge", "logging", "queue", "metrics"):
        assert getattr(minimal, section) == getattr(example, section), section


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), {})
    assert config.panels == []
    assert config.mqtt_client_id == "e27bridge"
    assert config.logging.level == "INFO"


def test_panel_id_defaults_from_mac_and_mac_is_normalised(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[panels]]\nmac = "0011.2233.44AA"\n'), {})
    assert config.panels[0].mac == "0011223344AA"
    assert config.panels[0].id == "e27-0011223344aa"
    assert config.panel("e27-0011223344aa") is config.panels[0]


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, f'[mqtt]\nhost = "a"\nport = 1\n[[panels]]\nmac = "{MAC}"\nhost = "h"\n')
    env = {
        "E27BRIDGE_MQTT__HOST": "broker.lan",
        "e27bridge_mqtt__tls__enabled": "true",
        "E27BRIDGE_BRIDGE__STATE_DIR": "/data",
        "E27BRIDGE_LOGGING__LEVEL": "debug",
        "E27BRIDGE_PANELS__0__HOST": "10.0.0.9",
        "E27BRIDGE_PANELS__1__MAC": "00:11:22:33:44:bb",
        "E27BRIDGE_UNRELATED": "ignored",
        "HOME": "/root",
    }
    config = load_config(path, env)
    assert config.mqtt.host == "broker.lan"
    assert config.mqtt.port == 1  # from the file
    assert config.mqtt.tls.enabled is True
    assert config.bridge.state_dir == Path("/data")
    assert config.logging.level == "DEBUG"
    assert config.panels[0].host == "10.0.0.9"
    assert config.panels[1].mac == "0011223344BB"


def test_whole_section_as_json_from_environment(tmp_path: Path) -> None:
    env = {"E27BRIDGE_PANELS": f'[{{"mac": "{MAC}", "id": "p"}}]'}
    config = load_config(write(tmp_path, ""), env)
    assert [p.id for p in config.panels] == ["p"]


def test_secrets_from_files_and_env_are_secretstr(tmp_path: Path) -> None:
    (tmp_path / "mqtt").write_text("hunter2\n", encoding="utf-8")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "code").write_text("123456\r\n", encoding="utf-8")
    path = write(
        tmp_path,
        f'[mqtt]\nusername = "u"\npassword_file = "{tmp_path}/mqtt"\n'
        f'[[panels]]\nmac = "{MAC}"\naccess_code_file = "$CREDENTIALS_DIRECTORY/code"\n',
    )
    env = {
        "CREDENTIALS_DIRECTORY": str(tmp_path / "creds"),
        "E27BRIDGE_PANELS__0__PASSPHRASE": "pass phrase",
    }
    config = load_config(path, env)
    assert isinstance(config.mqtt.password, SecretStr)
    assert config.mqtt.password.get_secret_value() == "hunter2"
    panel = config.panels[0]
    assert panel.access_code is not None and panel.access_code.get_secret_value() == "123456"
    assert panel.passphrase is not None and panel.passphrase.get_secret_value() == "pass phrase"
    for text in (repr(config), str(config), str(config.model_dump(mode="json"))):
        for secret in ("hunter2", "123456", "pass phrase"):
            assert secret not in text
    redacted = config.model_dump(mode="json")
    assert redacted["mqtt"]["password"] == MASK
    assert redacted["mqtt"]["password_file"] == f"{tmp_path}/mqtt"
    assert redacted["panels"][0]["access_code"] == MASK
    assert redacted["panels"][0]["passphrase"] == MASK
    assert redacted["mqtt"]["username"] == "u"


def test_default_config_path_follows_environment() -> None:
    assert default_config_path({}) == Path("/etc/e27bridge/config.toml")
    assert default_config_path({"E27BRIDGE_CONFIG": "/config/c.toml"}) == Path("/config/c.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[mqtt]\nport = "abc"\n', "mqtt.port: Input should be a valid integer"),
        ("[mqtt]\nport = 70000\n", "mqtt.port: Input should be less than or equal to 65535"),
        ('[mqtt]\nprotocol = "4"\n', "mqtt.protocol: Input should be 'auto', '5' or '3.1.1'"),
        ('[mqtt]\nhsot = "x"\n', "mqtt.hsot: unknown key"),
        ('[mqtt.tls]\nkey_file = "/k"\n', "mqtt.tls.key_file: needs cert_file as well"),
        (
            '[mqtt.tls]\nenabled = true\nca_file = "/nonexistent/ca"\n',
            "mqtt.tls.ca_file: /nonexistent/ca does not exist",
        ),
        (
            "[mqtt]\nreconnect_min_backoff = 9\nreconnect_max_backoff = 2\n",
            "mqtt.reconnect_min_backoff: must not exceed",
        ),
        ('[mqtt]\npassword = "p"\n', "mqtt.username: required when a password is set"),
        ('[bridge]\nid = "My Bridge"\n', "bridge.id: 'My Bridge' is not a Homie id"),
        ('[bridge]\nid = "-x"\n', "bridge.id: '-x' is not a Homie id"),
        ('[bridge]\nbase_topic = "a/+/b"\n', "bridge.base_topic: must not contain MQTT wildcards"),
        ('[bridge]\nhomie_prefix = "/homie"\n', "bridge.homie_prefix: must be non-empty"),
        ("[bridge]\nhomie_versions = [3]\n", "bridge.homie_versions[0]: Input should be 5 or 4"),
        ("[bridge]\nhomie_versions = []\n", "bridge.homie_versions: Value should have at least 1"),
        (
            "[bridge]\nhomie_versions = [4, 4]\n",
            "bridge.homie_versions: each Homie version at most",
        ),
        (
            "[bridge]\ncoalesce_ms = 300\n",
            "bridge.coalesce_ms: Input should be less than or equal to 250",
        ),
        (
            '[bridge]\ndiscovery_mode = "entity"\n',
            "bridge.discovery_mode: Input should be 'device', 'component' or 'off'",
        ),
        ('[logging]\nlevel = "loud"\n', "logging.level: Input should be"),
        (
            '[logging]\nformat = "xml"\n',
            "logging.format: Input should be 'auto', 'json' or 'console'",
        ),
        ("[queue]\ndepth = 0\n", "queue.depth: Input should be greater than or equal to 1"),
        ("[unknown]\nx = 1\n", "unknown: unknown key"),
        ("[[panels]]\nport = 2101\n", "panels[0].mac: required"),
        ('[[panels]]\nmac = "zz:11"\n', "panels[0].mac: not a MAC address: 'zz:11'"),
        ("[[panels]]\nmac = 1234\n", "panels[0].mac: must be a string"),
        (
            f'[[panels]]\nmac = "{MAC}"\n[[panels]]\nmac = "0011223344AA"\n',
            "panels[1].mac: duplicate of panels[0].mac",
        ),
        (
            f'[[panels]]\nid = "p"\nmac = "{MAC}"\n'
            '[[panels]]\nid = "p"\nmac = "00:11:22:33:44:bb"\n',
            "panels[1].id: duplicate of panels[0].id",
        ),
        (
            f'[[panels]]\nid = "e27bridge"\nmac = "{MAC}"\n',
            "panels[0].id: must differ from bridge.id",
        ),
        (f'[[panels]]\nmac = "{MAC}"\nprot = 1\n', "panels[0].prot: unknown key"),
        (
            f'[[panels]]\nmac = "{MAC}"\naccess_code = "1"\n',
            "panels[0].passphrase: access_code and passphrase are needed together",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\naccess_code = "1"\n'
            'access_code_file = "/x"\npassphrase = "p"\n',
            "panels[0].access_code: set only one of access_code and access_code_file",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\npassphrase_file = "/nonexistent/p"\n',
            "panels[0].passphrase_file: cannot read /nonexistent/p",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\nbypass_code = "12ab"\n',
            "panels[0].bypass_code: must be 1 to 6 digits without a leading zero",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\n[panels.entities.zone-x]\nname = "a"\n',
            "panels[0].entities.zone-x: not an entity id",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\n[panels.entities.zone-1]\ncolour = "a"\n',
            "panels[0].entities.zone-1.colour: unknown key",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\n[panels.entities.zone-1]\nexclude = "maybe"\n',
            "panels[0].entities.zone-1.exclude: Input should be a valid boolean",
        ),
        ("panels = 3\n", "panels: Input should be a valid list"),
        ("[mqtt\n", "not valid TOML"),
    ],
)
def test_bad_config_names_key_path(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(write(tmp_path, text))
    assert any(line.startswith(expected) or expected in line for line in found), found
    assert all(": " in line for line in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[mqtt]\nkeepalve = 30\n",
            "mqtt.keepalve: unknown key `keepalve`; did you mean `keepalive`?",
        ),
        (
            "[mqtt.tls]\nenabeld = true\n",
            "mqtt.tls.enabeld: unknown key `enabeld`; did you mean `enabled`?",
        ),
        ("[metrcs]\n", "metrcs: unknown key `metrcs`; did you mean `metrics`?"),
        (
            f'[[panels]]\nmac = "{MAC}"\nhots = "x"\n',
            "panels[0].hots: unknown key `hots`; did you mean `host`?",
        ),
        (
            f'[[panels]]\nmac = "{MAC}"\n[panels.entities.zone-1]\nnmae = "a"\n',
            "panels[0].entities.zone-1.nmae: unknown key `nmae`; did you mean `name`?",
        ),
        ("[bridge]\nfoo = 1\n", "bridge.foo: unknown key"),  # nothing close: no guess
    ],
)
def test_unknown_key_suggests_the_nearest_known_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert problems(write(tmp_path, text)) == [expected]


def test_metrics_are_off_by_default_and_listen_is_host_port(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), {}).metrics.address is None
    config = load_config(write(tmp_path, '[metrics]\nlisten = "127.0.0.1:9127"\n'), {})
    assert config.metrics.address == ("127.0.0.1", 9127)
    assert problems(write(tmp_path, '[metrics]\nlisten = "9127"\n')) == [
        "metrics.listen: expected HOST:PORT like 127.0.0.1:9127, got '9127'"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        write(tmp_path, '[mqtt]\nport = "x"\n[bridge]\nid = "A"\n[[panels]]\nmac = "q"\n')
    )
    assert [line.split(":")[0] for line in found] == ["mqtt.port", "bridge.id", "panels[0].mac"]


def test_bad_secret_type_never_echoes_the_value(tmp_path: Path) -> None:
    found = problems(
        write(tmp_path, f'[[panels]]\nmac = "{MAC}"\naccess_code = 987654\npassphrase = "x"\n')
    )
    assert found == ["panels[0].access_code: Input should be a valid string"]
    assert "987654" not in str(found)


def test_environment_errors_name_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, f'[[panels]]\nmac = "{MAC}"\n')
    found = problems(path, {"E27BRIDGE_QUEUE__DEPTH": "many", "E27BRIDGE_PANELS__0__PORT": "0"})
    assert any(
        line.startswith("queue.depth:") and "E27BRIDGE_QUEUE__DEPTH" in line for line in found
    )
    assert any(
        line.startswith("panels[0].port:") and "E27BRIDGE_PANELS__0__PORT" in line for line in found
    )
    assert problems(path, {"E27BRIDGE_PANELS__3__HOST": "x"}) == [
        "panels[3]: index skips panels[1] (from environment)"
    ]
    assert problems(
        path,
        {
            "E27BRIDGE_MQTT__PASSWORD_FILE": "$CREDENTIALS_DIRECTORY/p",
            "E27BRIDGE_MQTT__USERNAME": "u",
        },
    ) == ["mqtt.password_file: $CREDENTIALS_DIRECTORY is not set in the environment"]


def test_missing_file_and_empty_secret_file(tmp_path: Path) -> None:
    (missing,) = problems(tmp_path / "nope.toml")
    assert missing.startswith(f"{tmp_path}/nope.toml: file not found; create it from")
    assert "config/example.toml" in missing and "[[panels]]" in missing
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    path = write(tmp_path, f'[mqtt]\nusername = "u"\npassword_file = "{tmp_path}/empty"\n')
    assert problems(path) == [f"mqtt.password_file: {tmp_path}/empty is empty"]


def test_config_error_message_lists_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "[queue]\ndepth = -1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(info.value).startswith(f"invalid configuration in {path}:\n  queue.depth:")


def test_config_is_immutable(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), {})
    with pytest.raises(ValueError, match="frozen"):
        config.mqtt.port = 2


def test_environment_shape_matches_config() -> None:
    assert list(_EnvShape.model_fields) == list(Config.model_fields)
