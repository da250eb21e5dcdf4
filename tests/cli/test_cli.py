"""The ``e27bridge`` command line against a simulated panel in its own process."""

from __future__ import annotations

import argparse
import ast
import json
import re
import shlex
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import e27bridge
from e27bridge.cli import build_parser
from e27bridge.daemon.health import write_health

from .conftest import SCRIPT, clean_env, free_port, terminal_sigint

SUBCOMMANDS = (
    "run",
    "link",
    "discover",
    "simulate",
    "demo",
    "check-config",
    "health",
    "status",
    "tap",
    "version",
)
# Not the simulator's defaults: nothing can pass by luck with a built-in value.
ACCESS_CODE = "73915208"
PASSPHRASE = "correct horse battery"


def cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**(env or {})),
        check=False,
    )


@dataclass(frozen=True)
class Panel:
    host: str
    port: int
    discovery_port: int
    mac: str
    log: Path

    def explain(self, result: subprocess.CompletedProcess[str]) -> str:
        """What went wrong, with the simulator's side of the story."""
        tail = self.log.read_text(errors="replace").splitlines()[-20:]
        return "\n".join([result.stdout, result.stderr, "simulator log:", *tail])


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Panel]:
    """``e27bridge simulate`` on free ports, with this module's credentials."""
    directory = tmp_path_factory.mktemp("simulator")
    log_path = directory / "stderr.log"
    log = log_path.open("w")
    scenario = directory / "scenario.toml"  # room for every link the tests make
    scenario.write_text('profile = "small"\n[credentials]\nlink_slots = 32\n', encoding="utf-8")
    proc = subprocess.Popen(
        [
            str(SCRIPT),
            "simulate",
            "--scenario",
            str(scenario),
            "--port",
            "0",
            "--discovery-port",
            "0",
            "--access-code",
            ACCESS_CODE,
            "--passphrase",
            PASSPHRASE,
            "--log-level",
            "info",
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("e27bridge simulator listening"), line
        fields = dict(word.split("=", 1) for word in shlex.split(line)[3:])
        host, port = fields["tcp"].rsplit(":", 1)
        _, discovery_port = fields["udp"].rsplit(":", 1)
        yield Panel(host, int(port), int(discovery_port), fields["mac"], log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def panel_args(panel: Panel) -> list[str]:
    return [
        "--host",
        panel.host,
        "--port",
        str(panel.port),
        "--discovery-port",
        str(panel.discovery_port),
    ]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_help_lists_every_subcommand() -> None:
    result = cli("--help")
    assert result.returncode == 0
    listed = result.stdout.split("positional arguments:")[1]
    listed_names = re.findall(r"^    (\S+)", listed, re.MULTILINE)
    assert sorted(listed_names) == sorted(SUBCOMMANDS)


def test_no_subcommand_prints_help_and_exits_2() -> None:
    result = cli()
    assert result.returncode == 2
    assert "usage: e27bridge" in result.stdout


def test_unknown_subcommand_or_option_exits_2() -> None:
    assert cli("frobnicate").returncode == 2
    assert cli("link", "--access-code", "1234").returncode == 2  # never on the command line


def test_link_with_incomplete_stdin_is_a_usage_error(panel: Panel, tmp_path: Path) -> None:
    result = cli(
        "link", *panel_args(panel), "--state-dir", str(tmp_path), "--stdin", stdin="only-one\n"
    )
    assert result.returncode == 2
    assert "two lines" in result.stderr


def test_version() -> None:
    result = cli("version")
    assert result.returncode == 0
    assert result.stdout.startswith("e27bridge ")


def test_link_writes_a_private_key_file_and_prints_no_secret(panel: Panel, tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = cli(
        "link",
        *panel_args(panel),
        "--state-dir",
        str(state),
        "--stdin",
        stdin=f"{ACCESS_CODE}\n{PASSPHRASE}\n",
    )
    assert result.returncode == 0, panel.explain(result)
    key_file = state / "links" / f"{panel.mac}.json"
    assert f"keys stored in {key_file}" in result.stdout
    assert f'mac = "{":".join(panel.mac[i : i + 2] for i in range(0, 12, 2))}"' in result.stdout
    assert f"discovery_port = {panel.discovery_port}" in result.stdout  # not the default 2362

    stored = json.loads(key_file.read_text())
    assert stored["mac"] == panel.mac
    assert len(stored["enc"]) == 32
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700
    assert mode(state / "identity.json") == 0o600
    assert mode(state) == 0o700
    # Atomic write: a temporary file beside it, renamed; none is left behind.
    assert sorted(p.name for p in key_file.parent.iterdir()) == [key_file.name]

    output = result.stdout + result.stderr
    for secret in (ACCESS_CODE, PASSPHRASE, stored["enc"], stored["hmac"]):
        assert secret not in output


def test_link_takes_secrets_from_env_and_state_dir_from_config(
    panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "from-config"
    config = tmp_path / "config.toml"
    config.write_text(f'[bridge]\nstate_dir = "{state}"\n', encoding="utf-8")
    result = cli(
        "link",
        "--config",
        str(config),
        *panel_args(panel),
        env={"E27BRIDGE_ACCESS_CODE": ACCESS_CODE, "E27BRIDGE_PASSPHRASE": PASSPHRASE},
    )
    assert result.returncode == 0, panel.explain(result)
    key_file = state / "links" / f"{panel.mac}.json"
    assert mode(key_file) == 0o600
    assert ACCESS_CODE not in result.stdout + result.stderr
    assert PASSPHRASE not in result.stdout + result.stderr


def test_link_with_wrong_credentials_fails_with_1_and_stores_nothing(
    panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    wrong_code, wrong_phrase = "11112222", "not the passphrase"
    result = cli(
        "link",
        *panel_args(panel),
        "--state-dir",
        str(state),
        "--stdin",
        "--timeout",
        "1.5",
        stdin=f"{wrong_code}\n{wrong_phrase}\n",
    )
    assert result.returncode == 1, panel.explain(result)
    assert "link failed" in result.stderr
    assert "access code" in result.stderr, panel.explain(
        result
    )  # the panel is silent; the message says what to check
    assert not (state / "links").exists()
    output = result.stdout + result.stderr
    assert wrong_code not in output
    assert wrong_phrase not in output


def test_link_with_an_unreadable_config_exits_2(tmp_path: Path) -> None:
    result = cli("link", "--config", str(tmp_path / "missing.toml"), "--stdin", stdin="1\n2\n")
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_discover_prints_the_panel_table(panel: Panel) -> None:
    result = cli(
        "discover",
        "--host",
        "127.0.0.1",
        "--discovery-port",
        str(panel.discovery_port),
        "--timeout",
        "1",
    )
    assert result.returncode == 0, panel.explain(result)
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "MAC", "SERIAL", "HOST", "PORT"]
    assert "E27 Simulator (small)" in row
    cells = row.split()
    assert cells[-4:] == ["00:50:C2:E2:70:01", "E27SIM000001", "127.0.0.1", str(panel.port)]


def test_discover_with_no_answer_exits_1() -> None:
    port = free_port()
    result = cli(
        "discover", "--host", "127.0.0.1", "--discovery-port", str(port), "--timeout", "0.5"
    )
    assert result.returncode == 1
    assert f"no panel answered on UDP 127.0.0.1:{port}" in result.stdout  # the port it used


def test_exit_codes_are_defined_once() -> None:
    """Every sub-command returns the codes of ``e27bridge.commands``; none defines its own."""
    src = Path(e27bridge.__file__).parent
    owner = src / "commands" / "__init__.py"
    defining = [
        f"{path.relative_to(src)}: {target.id}"
        for path in sorted(src.rglob("*.py"))
        if path != owner
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.startswith("EXIT_")
    ]
    assert defining == []


def panel_toml(panel: Panel, state: Path, panel_id: str = "home", extra: str = "") -> str:
    return (
        f'[bridge]\nstate_dir = "{state}"\n\n[[panels]]\nid = "{panel_id}"\n'
        f'mac = "{panel.mac}"\nhost = "{panel.host}"\nport = {panel.port}\n'
        f"discovery_port = {panel.discovery_port}\n{extra}"
    )


def test_link_with_config_links_the_configured_panel_without_asking_for_it(
    panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    config = tmp_path / "config.toml"
    config.write_text(panel_toml(panel, state), encoding="utf-8")
    secrets = {"E27BRIDGE_ACCESS_CODE": ACCESS_CODE, "E27BRIDGE_PASSPHRASE": PASSPHRASE}
    result = cli("link", "--config", str(config), env=secrets)
    assert result.returncode == 0, panel.explain(result)
    assert f"UDP {panel.host}:{panel.discovery_port}" in result.stdout  # unicast, its port
    assert f"linking home at {panel.host}:{panel.port}" in result.stdout
    assert "[[panels]]" not in result.stdout  # it is in the config already
    assert mode(state / "links" / f"{panel.mac}.json") == 0o600

    again = cli("link", "--config", str(config))  # nothing left to link: no prompt
    assert again.returncode == 0, again.stderr
    assert "linked already" in again.stdout

    # the running daemon says the panel refused the keys: linking again needs no --panel
    write_health(state, mqtt_connected=True, panels={"home": "link_required"})
    relink = cli("link", "--config", str(config), env=secrets)
    assert relink.returncode == 0, panel.explain(relink)
    assert f"linking home at {panel.host}:{panel.port}" in relink.stdout


def test_link_panel_takes_secrets_from_the_config_and_links_only_that_panel(
    panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    config = tmp_path / "config.toml"
    secrets = f'access_code = "{ACCESS_CODE}"\npassphrase = "{PASSPHRASE}"\n'
    other = '\n[[panels]]\nid = "barn"\nmac = "00:11:22:33:44:55"\nhost = "127.0.0.1"\n'
    config.write_text(panel_toml(panel, state, extra=secrets) + other, encoding="utf-8")
    result = cli("link", "--config", str(config), "--panel", "home", stdin="")
    assert result.returncode == 0, panel.explain(result)
    assert sorted(p.name for p in (state / "links").iterdir()) == [f"{panel.mac}.json"]
    assert ACCESS_CODE not in result.stdout + result.stderr

    unknown = cli("link", "--config", str(config), "--panel", "cellar", stdin="")
    assert unknown.returncode == 2
    assert "no panel 'cellar' in the config (configured: home, barn)" in unknown.stderr


def test_link_host_probes_only_that_host_and_links_there_without_a_discovery_answer(
    panel: Panel, tmp_path: Path
) -> None:
    silent = free_port()  # nothing answers discovery here
    result = cli(
        "link",
        "--state-dir",
        str(tmp_path / "state"),
        "--host",
        panel.host,
        "--port",
        str(panel.port),
        "--discovery-port",
        str(silent),
        "--mac",
        panel.mac,
        "--stdin",
        stdin=f"{ACCESS_CODE}\n{PASSPHRASE}\n",
    )
    assert result.returncode == 0, panel.explain(result)
    assert "255.255.255.255" not in result.stdout
    assert f"no discovery answer on UDP {panel.host}:{silent}" in result.stdout
    assert f"at {panel.host}:{panel.port}" in result.stdout


def test_first_ctrl_c_at_the_prompt_exits_130_at_once(panel: Panel, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(panel_toml(panel, tmp_path / "state"), encoding="utf-8")
    with terminal_sigint():
        proc = subprocess.Popen(
            [str(SCRIPT), "link", "--config", str(config)],
            stdin=subprocess.PIPE,  # kept open: the prompt waits
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
            start_new_session=True,  # no terminal: getpass reads stdin, prompts on stderr
        )
    try:
        assert proc.stderr is not None
        prompt = b""
        while b"Access code" not in prompt:
            chunk = proc.stderr.read1(256)
            assert chunk, prompt
            prompt += chunk
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=3) == 130
    finally:
        proc.kill()
        proc.wait()


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_has_help_and_port_options_mean_one_thing() -> None:
    for name, parser in _parsers().items():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings} has no help text"
            if "--port" in action.option_strings:
                assert "TCP API port" in action.help, (name, action.help)
            if "--discovery-port" in action.option_strings:
                assert "UDP discovery port" in action.help, (name, action.help)


@pytest.mark.parametrize("command", ["run", "demo", "simulate"])
def test_log_level_takes_the_same_names_in_any_case(command: str) -> None:
    parser = _parsers()[command]
    for given in ("debug", "Info", "WARNING", "error", "critical"):
        assert parser.parse_args(["--log-level", given]).log_level == given.upper()
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--log-level", "loud"])
    assert exited.value.code == 2


def test_a_missing_config_file_says_how_to_create_one(tmp_path: Path) -> None:
    result = cli("run", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "file not found; create it from config/example.toml" in result.stderr
    assert "[[panels]]" in result.stderr


def test_a_mistyped_key_gets_the_nearest_known_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[mqtt]\nkeepalve = 30\n", encoding="utf-8")
    result = cli("check-config", "--config", str(config))
    assert result.returncode == 2
    assert "mqtt.keepalve: unknown key `keepalve`; did you mean `keepalive`?" in result.stderr


def test_link_host_for_a_configured_panel_names_it_and_prints_no_snippet(
    panel: Panel, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bridge]\nstate_dir = "{state}"\n\n[[panels]]\nid = "home"\nmac = "{panel.mac}"\n',
        encoding="utf-8",
    )
    result = cli(
        "link",
        "--config",
        str(config),
        *panel_args(panel),
        "--stdin",
        stdin=f"{ACCESS_CODE}\n{PASSPHRASE}\n",
    )
    assert result.returncode == 0, panel.explain(result)
    assert "linked home;" in result.stdout
    assert "[[panels]]" not in result.stdout


def test_run_with_the_metrics_port_taken_exits_1_and_names_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(
            f'[bridge]\nstate_dir = "{tmp_path / "state"}"\n\n'
            f'[metrics]\nlisten = "127.0.0.1:{port}"\n',
            encoding="utf-8",
        )
        result = cli("run", "--config", str(config))
    assert result.returncode == 1
    assert f"metrics: cannot listen on 127.0.0.1:{port}" in result.stderr


def test_tap_names_an_unknown_panel_and_says_when_tap_is_off(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nport = {port}\n\n[[panels]]\nid = "home"\nmac = "00:11:22:33:44:55"\n',
        encoding="utf-8",
    )
    result = cli("tap", "--config", str(config), "--panel", "nope")
    assert result.returncode == 2 and "no panel 'nope' in the config (home)" in result.stderr
    result = cli("tap", "--config", str(config), "--panel", "home")
    assert result.returncode == 1
    assert "panels[].tap is off for home" in result.stderr
    assert f"broker 127.0.0.1:{port}" in result.stderr
