"""The ``e27bridge`` command line against a simulated panel in its own process."""

from __future__ import annotations

import ast
import json
import re
import shlex
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import e27bridge

from .conftest import SCRIPT, clean_env, free_port

SUBCOMMANDS = ("run", "link", "discover", "simulate", "demo", "check-config", "health", "version")
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
    log_path = tmp_path_factory.mktemp("simulator") / "stderr.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            str(SCRIPT),
            "simulate",
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
        "discover", "--host", "127.0.0.1", "--port", str(panel.discovery_port), "--timeout", "1"
    )
    assert result.returncode == 0, panel.explain(result)
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "MAC", "SERIAL", "HOST", "PORT"]
    assert "E27 Simulator (small)" in row
    cells = row.split()
    assert cells[-4:] == ["00:50:C2:E2:70:01", "E27SIM000001", "127.0.0.1", str(panel.port)]


def test_discover_with_no_answer_exits_1() -> None:
    result = cli("discover", "--host", "127.0.0.1", "--port", str(free_port()), "--timeout", "0.5")
    assert result.returncode == 1
    assert "no panel answered" in result.stdout


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
