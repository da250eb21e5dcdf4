"""Several simulated panels in one process: own MAC, port, discovery answer and state each;
one control channel addressing them by MAC or index; ``simulate --panels N``."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from e27bridge.protocol.discovery import PROBE, parse_reply
from e27bridge.simulator.config import profile_config
from e27bridge.simulator.fleet import panel_configs, run_fleet
from e27bridge.simulator.runner import loopback_config

from .test_server_cli import parse_start_line, simulate
from .test_server_runner import ControlClient, _Collector

BASE = loopback_config(profile_config("small"))


async def probe_all(port: int, expect: int, timeout: float = 3.0) -> list[Any]:
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        _Collector, local_addr=("127.0.0.1", 0)
    )
    try:
        transport.sendto(PROBE, ("127.0.0.1", port))
        out = []
        while len(out) < expect:
            data, host = await asyncio.wait_for(collector.replies.get(), timeout)
            out.append(parse_reply(data, host))
        return out
    finally:
        transport.close()


def test_panel_configs_count_up_mac_port_and_seed() -> None:
    base = profile_config("small")
    configs = panel_configs(base, 3)
    assert [c.identity.mac for c in configs] == ["0050C2E27001", "0050C2E27002", "0050C2E27003"]
    assert [c.network.port for c in configs] == [2101, 2102, 2103]
    assert len({c.identity.serial for c in configs}) == 3
    assert [c.network.port for c in panel_configs(BASE, 2)] == [0, 0]  # free ports stay free
    assert panel_configs(base, 1)[0] == base
    with pytest.raises(ValueError, match=r"1\.\.4096"):
        panel_configs(base, 0)


async def test_fleet_panels_are_independent_and_addressed_by_mac_or_index() -> None:
    async with run_fleet(panel_configs(BASE, 3), control="127.0.0.1:0") as fleet:
        sims = fleet.panels
        assert len({sim.port for sim in sims}) == 3
        announcements = await probe_all(fleet.discovery_port, 3)
        assert {(a.mac, a.port) for a in announcements} == {(s.mac, s.port) for s in sims}

        assert fleet.control is not None
        host, port = fleet.control.rsplit(":", 1)
        ctl = ControlClient(*await asyncio.open_connection(host, int(port)))
        listed = (await ctl("panels"))["panels"]
        assert [p["mac"] for p in listed] == [s.mac for s in sims]
        mac = sims[1].mac
        colon_mac = ":".join(mac[i : i + 2] for i in range(0, 12, 2)).lower()
        assert (await ctl("set_zone", panel=colon_mac, zone_id=3, state="open"))["ok"]
        assert sims[1].panel.zones.states[3].violated
        assert not sims[0].panel.zones.states[3].violated
        assert not sims[2].panel.zones.states[3].violated
        assert (await ctl("describe", panel=2))["simulator"]["mac"] == sims[2].mac
        assert (await ctl("describe"))["simulator"]["mac"] == sims[0].mac  # default: first
        assert (await ctl("describe", panel=3)) == {
            "ok": False,
            "error": "no panel with index 3 (0..2)",
        }
        assert (await ctl("describe", panel="AABBCCDDEEFF"))["ok"] is False
        await ctl.close()


async def test_simulate_panels_prints_one_line_per_panel_with_own_state(tmp_path: Path) -> None:
    state = tmp_path / "fleet.json"
    async with simulate(
        "--panels", "3", "--state-file", str(state), "--control", "127.0.0.1:0"
    ) as running:
        assert running.process.stdout is not None
        lines = [running.fields]
        for _ in range(2):
            line = await asyncio.wait_for(running.process.stdout.readline(), 10)
            lines.append(parse_start_line(line.decode().strip()))
        macs = [f["mac"] for f in lines]
        assert macs == ["0050C2E27001", "0050C2E27002", "0050C2E27003"]
        assert len({f["tcp"] for f in lines}) == 3
        assert len({f["udp"] for f in lines}) == 1  # one discovery responder answers for all
        assert len({f["control"] for f in lines}) == 1
        running.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(running.process.wait(), 10) == 0
    for mac in macs:
        saved = json.loads((tmp_path / f"fleet-{mac}.json").read_text())
        assert saved["mac"] == mac
