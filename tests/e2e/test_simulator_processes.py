"""The bridge (`e27bridge run`) against `e27bridge simulate` *processes*: a panel restarted on
another port keeps its memory (state file), and one bridge serves many simulated panels."""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqtt.capture import Listener
from mqtt.conftest import Broker
from simulator.test_server_cli import Running, parse_start_line, simulate

from .conftest import ACCESS_CODE, PASSPHRASE, PIN, SubprocessDaemon, daemon_toml, publish

SIM_ARGS = [
    "--profile",
    "small",
    "--access-code",
    ACCESS_CODE,
    "--passphrase",
    PASSPHRASE,
    "--user-pin",
    str(PIN),
    "--time-scale",
    "100",
    "--seed",
    "27",
    "--no-activity",
]


@dataclass(frozen=True)
class Where:
    """Where a simulated panel listens, as daemon_toml wants it."""

    mac: str
    port: int
    discovery_port: int


def where(fields: dict[str, str]) -> Where:
    return Where(
        fields["mac"], int(fields["tcp"].rsplit(":", 1)[1]), int(fields["udp"].rsplit(":", 1)[1])
    )


async def stop(running: Running, stats_file: Path) -> dict[str, Any]:
    running.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(running.process.wait(), 10) == 0
    stats: dict[str, Any] = json.loads(stats_file.read_text())
    return stats


async def command(broker: Broker, listener: Listener, topic: str, body: dict[str, Any]) -> None:
    mark = listener.mark()
    await publish(broker.port, topic, json.dumps(body))
    reply = await listener.wait_topic("e27bridge/home/response", start=mark, timeout=8)
    assert reply.json()["status"] == "ok", reply.json()


async def test_restarted_panel_process_on_another_port_keeps_link_and_state(
    broker: Broker, tmp_path: Path
) -> None:
    state = tmp_path / "panel.json"
    state_dir = tmp_path / "bridge"
    state_dir.mkdir()
    h = "homie/5/home"
    first_stats = tmp_path / "first.json"
    async with (
        Listener(broker.port) as listener,
        simulate(*SIM_ARGS, "--state-file", str(state), "--stats-file", str(first_stats)) as first,
    ):
        panel = where(first.fields)
        config = tmp_path / "config.toml"
        config.write_text(daemon_toml(broker, panel, state_dir))  # type: ignore[arg-type]
        daemon = SubprocessDaemon(config, tmp_path / "daemon.log")
        await daemon.start()
        try:
            await listener.wait_topic(f"{h}/$state", b"ready", timeout=20)
            keys = (state_dir / "links" / f"{panel.mac}.json").read_bytes()
            code = {"code": str(PIN)}
            await command(broker, listener, f"{h}/zone-2/command/set", {"action": "bypass", **code})
            await command(
                broker, listener, f"{h}/area-1/command/set", {"action": "arm_home", **code}
            )
            await listener.wait_topic(f"{h}/area-1/state", b"armed_home", timeout=8)
            stats = await stop(first, first_stats)
            assert stats["links_made"] == 1 and stats["in_flight_violations"] == 0

            # The same panel (same MAC and state file) comes back on another TCP port.
            mark = listener.mark()
            second_stats = tmp_path / "second.json"
            async with simulate(
                *SIM_ARGS,
                "--state-file",
                str(state),
                "--stats-file",
                str(second_stats),
                "--discovery-port",
                str(panel.discovery_port),
            ) as second:
                moved = where(second.fields)
                assert moved.mac == panel.mac and moved.port != panel.port
                await listener.wait_topic(f"{h}/$state", b"ready", start=mark, timeout=40)
                assert listener.on(f"{h}/area-1/state")[-1].payload == b"armed_home"
                assert listener.on(f"{h}/zone-2/bypassed")[-1].payload == b"true"
                stats = await stop(second, second_stats)
            assert stats["links_made"] == 0  # no re-link: the stored keys were accepted
            assert stats["sessions_opened"] >= 1 and stats["in_flight_violations"] == 0
            assert (state_dir / "links" / f"{panel.mac}.json").read_bytes() == keys
        finally:
            assert await daemon.stop() == 0
    log = daemon.log()
    assert "link_required" not in log


async def test_one_bridge_links_and_is_ready_on_every_panel_of_a_fleet(
    broker: Broker, tmp_path: Path
) -> None:
    count = 3
    state_dir = tmp_path / "bridge"
    state_dir.mkdir()
    stats_file = tmp_path / "stats.json"
    async with simulate(*SIM_ARGS, "--panels", str(count), "--stats-file", str(stats_file)) as sim:
        assert sim.process.stdout is not None
        panels = [where(sim.fields)]
        for _ in range(count - 1):
            line = await asyncio.wait_for(sim.process.stdout.readline(), 10)
            panels.append(where(parse_start_line(line.decode().strip())))
        toml = daemon_toml(broker, panels[0], state_dir)  # type: ignore[arg-type]
        head, _, first_panel = toml.partition("[[panels]]")
        tables = [
            first_panel.replace('id = "home"', f'id = "p{i}"')
            .replace(panels[0].mac, p.mac)
            .replace(f"port = {panels[0].port}\n", f"port = {p.port}\n")
            for i, p in enumerate(panels)
        ]
        config = tmp_path / "config.toml"
        config.write_text(head + "".join(f"[[panels]]{t}" for t in tables))
        daemon = SubprocessDaemon(config, tmp_path / "daemon.log")
        async with Listener(broker.port) as listener:
            await daemon.start()
            try:
                for i in range(count):
                    await listener.wait_topic(f"homie/5/p{i}/$state", b"ready", timeout=40)
            finally:
                assert await daemon.stop() == 0
        sim.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(sim.process.wait(), 10) == 0
    stats = json.loads(stats_file.read_text())
    assert sorted(stats) == sorted(p.mac for p in panels)
    for each in stats.values():
        assert each["links_made"] == 1 and each["in_flight_violations"] == 0
