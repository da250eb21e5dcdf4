"""``e27bridge simulate`` as a subprocess: start line, signals, stats file, bad input."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from e27bridge.protocol.hello import HelloAccepted
from e27bridge.protocol.identity import ClientIdentity, LinkKeys

from .conftest import MiniClient

START_PREFIX = "e27bridge simulator listening "


@dataclass
class Running:
    process: asyncio.subprocess.Process
    fields: dict[str, str]

    @property
    def tcp(self) -> tuple[str, int]:
        host, port = self.fields["tcp"].rsplit(":", 1)
        return host, int(port)


def parse_start_line(line: str) -> dict[str, str]:
    assert line.startswith(START_PREFIX), line
    fields: dict[str, str] = {}
    for item in shlex.split(line[len(START_PREFIX) :]):
        key, _, value = item.partition("=")
        fields[key] = value
    return fields


@asynccontextmanager
async def simulate(*args: str) -> AsyncIterator[Running]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "e27bridge",
        "simulate",
        "--port",
        "0",
        "--discovery-port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        yield Running(process, parse_start_line(line.decode().strip()))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_simulate_prints_one_start_line_and_writes_stats_on_sigterm(tmp_path: Path) -> None:
    stats_file = tmp_path / "out" / "stats.json"
    async with simulate(
        "--access-code",
        "4242",
        "--passphrase",
        "open sesame",
        "--user-pin",
        "5678",
        "--mac",
        "aa:bb:cc:dd:ee:01",
        "--control",
        "127.0.0.1:0",
        "--stats-file",
        str(stats_file),
        "--seed",
        "3",
        "--time-scale",
        "10",
    ) as sim:
        assert sim.fields["mac"] == "AABBCCDDEE01"
        assert sim.fields["access_code"] == "4242"
        assert sim.fields["passphrase"] == "open sesame"
        assert sim.fields["user_pin"] == "5678"
        assert int(sim.fields["udp"].rsplit(":", 1)[1]) > 0
        assert sim.fields["control"].startswith("127.0.0.1:")
        host, port = sim.tcp
        identity = ClientIdentity(sn="CLI000000001")
        linker = await MiniClient.open(host, port)
        keys = await linker.link(identity, access_code="4242", passphrase="open sesame")
        assert isinstance(keys, LinkKeys)
        await linker.close()
        client = await MiniClient.open(host, port)
        assert isinstance(await client.hello(identity, keys), HelloAccepted)
        await client.request("system", "r_u_alive")
        await client.close()
        sim.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(sim.process.wait(), 10) == 0
        assert sim.process.stdout is not None
        assert await sim.process.stdout.read() == b""  # exactly one line on stdout
    stats = json.loads(stats_file.read_text())
    assert stats["links_made"] == 1
    assert stats["requests_total"] == 1
    assert stats["domain_counts"] == {"system": 1}


async def test_simulate_exits_zero_on_sigint(tmp_path: Path) -> None:
    async with simulate("--stats-file", str(tmp_path / "s.json")) as sim:
        sim.process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(sim.process.wait(), 10) == 0
    assert json.loads((tmp_path / "s.json").read_text())["requests_total"] == 0


def test_simulate_rejects_bad_settings_with_a_clear_message() -> None:
    env = {**os.environ}
    for args, needle in [
        (["--mac", "nope"], "identity.mac"),
        (["--time-scale", "0"], "time_scale"),
        (["--control", "192.0.2.1:9"], "loopback"),
        (["--scenario", "/nonexistent.toml"], "cannot read"),
        (["--panels", "0"], "--panels must be 1..4096"),
        (["--state-file", "/nonexistent-dir/panel.json"], "does not exist"),
        (["--panels", "3", "--mac", "FFFFFFFFFFFE"], "MAC range overflows"),
    ]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "e27bridge",
                "simulate",
                "--port",
                "0",
                "--discovery-port",
                "0",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
            check=False,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert needle in result.stderr
        assert result.stdout == ""
