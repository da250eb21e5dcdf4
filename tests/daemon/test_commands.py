"""check-config and health through the installed console script, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from e27bridge.cli import main
from e27bridge.commands.check_config import to_toml, unreadable_for_others
from e27bridge.daemon.config import load_config
from e27bridge.daemon.health import (
    LINK_REQUIRED,
    HealthReport,
    problems,
    process_alive,
    read_health,
    write_health,
)
from e27bridge.panel.state import ConnectionState

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.toml"
SCRIPT = Path(sys.executable).parent / "e27bridge"
MAC = "00:11:22:33:44:aa"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("E27BRIDGE_")}
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        check=False,
    )


def test_check_config_on_example_exits_0_and_prints_valid_toml() -> None:
    result = cli("check-config", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    printed = tomllib.loads(result.stdout)
    assert printed["mqtt"]["port"] == 1883
    assert printed["panels"][0]["mac"] == "0011223344AA"
    assert printed["panels"][0]["entities"]["zone-3"]["device_class"] == "door"


def test_check_config_masks_secrets_and_applies_env(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("hunter2-secret\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[mqtt]\nusername = "u"\npassword_file = "{tmp_path}/pw"\n'
        f'[[panels]]\nmac = "{MAC}"\naccess_code = "90817263"\n',
        encoding="utf-8",
    )
    env = {"E27BRIDGE_PANELS__0__PASSPHRASE": "a long phrase", "E27BRIDGE_CONFIG": str(config)}
    for fmt in ("toml", "json"):
        result = cli("check-config", "--format", fmt, env=env)
        assert result.returncode == 0, result.stderr
        for secret in ("hunter2-secret", "90817263", "a long phrase"):
            assert secret not in result.stdout + result.stderr
        data = json.loads(result.stdout) if fmt == "json" else tomllib.loads(result.stdout)
        assert data["mqtt"]["password"] == "**********"
        assert data["panels"][0]["access_code"] == "**********"
        assert data["panels"][0]["passphrase"] == "**********"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[mqtt]\nport = "many"\n', "mqtt.port: Input should be a valid integer"),
        ('[[panels]]\nmac = "not-a-mac"\n', "panels[0].mac: not a MAC address"),
        (
            f'[[panels]]\nmac = "{MAC}"\n[[panels]]\nmac = "{MAC.upper()}"\n',
            "panels[1].mac: duplicate",
        ),
        ('[bridge]\nid = "Bridge One"\n', "bridge.id: 'Bridge One' is not a Homie id"),
        ("[bridge]\nfoo = 1\n", "bridge.foo: unknown key"),
    ],
)
def test_check_config_rejects_bad_config_with_key_path(
    tmp_path: Path,
    text: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in [k for k in os.environ if k.startswith("E27BRIDGE_")]:
        monkeypatch.delenv(key)
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["check-config", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert lines and any(line.startswith(expected) for line in lines), err


def test_check_config_bad_config_exit_code_through_script(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[panels]]\nmac = "00:11:22:33:44:zz"\nport = 0\n', encoding="utf-8")
    result = cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[1:] == [
        "  panels[0].mac: not a MAC address: '00:11:22:33:44:zz'",
        "  panels[0].port: Input should be greater than or equal to 1",
    ]


def test_check_config_missing_file() -> None:
    result = cli("check-config", "--config", "/nonexistent/e27bridge.toml")
    assert result.returncode == 2
    assert "/nonexistent/e27bridge.toml: file not found" in result.stderr


def test_toml_rendering_round_trips() -> None:
    data = load_config(EXAMPLE, {}).model_dump(mode="json")
    parsed = tomllib.loads("\n".join(to_toml(data)))

    def drop_none(value: object) -> object:
        if isinstance(value, dict):
            return {k: drop_none(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [drop_none(v) for v in value]
        return value

    assert parsed == drop_none(data)
    assert tomllib.loads("\n".join(to_toml({"panels": [], "a b": {"x": 'q"'}}))) == {
        "panels": [],
        "a b": {"x": 'q"'},
    }


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user may enter (pytest's tmp_path sits under a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="e27-open-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_unreadable_for_others_names_the_mode_or_the_directory(open_dir: Path) -> None:
    tmp_path = open_dir
    conf = tmp_path / "etc" / "config.toml"
    conf.parent.mkdir()
    conf.write_text(f'[[panels]]\nmac = "{MAC}"\n', encoding="utf-8")
    conf.parent.chmod(0o755)
    conf.chmod(0o640)
    assert unreadable_for_others(conf) == f"{conf} is mode 0640, not readable by other users"
    conf.chmod(0o644)
    assert unreadable_for_others(conf) is None
    conf.parent.chmod(0o750)
    assert (
        unreadable_for_others(conf) == f"directory {conf.parent} is not searchable by other users"
    )
    assert unreadable_for_others(tmp_path / "missing.toml") is None


@pytest.mark.skipif(os.geteuid() != 0, reason="the warning is for checks run as root")
def test_check_config_as_root_warns_when_the_service_user_cannot_read(open_dir: Path) -> None:
    conf = open_dir / "config.toml"
    conf.write_text(f'[[panels]]\nmac = "{MAC}"\n', encoding="utf-8")
    conf.chmod(0o640)
    closed = cli("check-config", "--quiet", "--config", str(conf))
    assert closed.returncode == 0, closed.stderr
    assert "mode 0640" in closed.stderr and "dynamic user" in closed.stderr
    conf.chmod(0o644)
    fine = cli("check-config", "--quiet", "--config", str(conf))
    assert fine.returncode == 0 and "warning" not in fine.stderr


def test_health_writer_and_judgement(tmp_path: Path) -> None:
    report = write_health(tmp_path / "s", mqtt_connected=True, panels={"home": "ready"}, now=1000.0)
    assert read_health(tmp_path / "s") == report
    assert report.pid == os.getpid()
    assert problems(report, now=1030.0) == []
    assert problems(report, now=1061.0) == ["health file is 61 s old (limit 60 s): daemon stalled"]
    down = HealthReport(timestamp=1000.0, mqtt_connected=False, pid=os.getpid())
    assert problems(down, now=1000.0) == ["not connected to the MQTT broker"]
    # A disconnected panel does not make the daemon unhealthy: a restart cannot fix it.
    panel_down = HealthReport(
        timestamp=1000.0, mqtt_connected=True, panels={"home": "disconnected"}, pid=os.getpid()
    )
    assert problems(panel_down, now=1000.0) == []


def test_health_unlinked_panel_and_dead_daemon_are_unhealthy() -> None:
    assert ConnectionState.LINK_REQUIRED.value == LINK_REQUIRED
    unlinked = HealthReport(
        timestamp=1000.0,
        mqtt_connected=True,
        panels={"home": "link_required", "cabin": "connecting"},
        pid=os.getpid(),
    )
    assert problems(unlinked, now=1000.0) == ["not linked, run `e27bridge link`: home"]
    gone = HealthReport(timestamp=1000.0, mqtt_connected=True, pid=os.getpid())
    assert problems(gone, now=1000.0, alive=lambda pid: False) == [
        f"daemon process {os.getpid()} is not running"
    ]
    assert process_alive(os.getpid()) and process_alive(1)
    assert not process_alive(0)


def test_health_command_sees_a_dead_daemon_and_never_exits_2(tmp_path: Path) -> None:
    state = tmp_path / "state"
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(child.stdout)
    state.mkdir()
    report = HealthReport(timestamp=time.time(), mqtt_connected=True, pid=dead_pid)
    (state / "health.json").write_text(report.to_json(), encoding="utf-8")
    dead = cli("health", "--state-dir", str(state))
    assert dead.returncode == 1
    assert f"daemon process {dead_pid} is not running" in dead.stdout

    write_health(state, mqtt_connected=True, panels={"home": "link_required"})
    unlinked = cli("health", "--state-dir", str(state))
    assert unlinked.returncode == 1 and "not linked" in unlinked.stdout


def test_health_command_states(tmp_path: Path) -> None:
    state = tmp_path / "state"
    missing = cli("health", "--state-dir", str(state))
    assert missing.returncode == 1
    assert "not found" in missing.stdout

    write_health(state, mqtt_connected=True, panels={"home": "ready", "cabin": "disconnected"})
    ok = cli("health", "--state-dir", str(state))
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.strip() == "healthy: mqtt connected, panels: cabin=disconnected, home=ready"

    write_health(state, mqtt_connected=False, panels={})
    assert cli("health", "--state-dir", str(state)).returncode == 1

    write_health(state, mqtt_connected=True, panels={}, now=time.time() - 120)
    stale = cli("health", "--state-dir", str(state))
    assert stale.returncode == 1 and "daemon stalled" in stale.stdout

    (state / "health.json").write_text("{garbage", encoding="utf-8")
    garbage = cli("health", "--state-dir", str(state))
    assert garbage.returncode == 1 and "unreadable health file" in garbage.stdout


def test_health_finds_state_dir_through_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[bridge]\nstate_dir = "{tmp_path}/elsewhere"\n', encoding="utf-8")
    write_health(tmp_path / "data", mqtt_connected=True, panels={})
    # The environment (as in the Docker image) overrides the file's state_dir.
    env = {"E27BRIDGE_BRIDGE__STATE_DIR": str(tmp_path / "data")}
    assert cli("health", "--config", str(config), env=env).returncode == 0
    assert cli("health", "--config", str(config)).returncode == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[bridge]\nid = 3\n", encoding="utf-8")
    broken = cli("health", "--config", str(bad))
    # Docker reserves exit 2 of a HEALTHCHECK: a bad config is unhealthy (1), with the reason.
    assert (
        broken.returncode == 1 and "unhealthy: " in broken.stdout and "bridge.id" in broken.stdout
    )
