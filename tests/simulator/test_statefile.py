"""The simulator's state file: a panel restarted (same or another port) remembers its links
and the state a real panel keeps; without a state file it forgets, as before."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from e27bridge.protocol.hello import HelloAccepted, HelloLinkRequired
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.simulator.config import SimulatorConfig, profile_config
from e27bridge.simulator.runner import Simulator, loopback_config, run_simulator
from e27bridge.simulator.statefile import StateFileError

from .conftest import ACCESS_CODE, PASSPHRASE, MiniClient

IDENTITY = ClientIdentity(sn="5747E0000001")
PIN = 1234


def config(**changes: Any) -> SimulatorConfig:
    base = loopback_config(profile_config("large"))
    return dataclasses.replace(
        base,
        seed=5,
        credentials=dataclasses.replace(
            base.credentials, access_code=ACCESS_CODE, passphrase=PASSPHRASE
        ),
        timings=dataclasses.replace(base.timings, exit_delay=0.0),
        **changes,
    )


async def session(sim: Simulator, keys: LinkKeys) -> MiniClient:
    client = await MiniClient.open(sim.host, sim.port)
    assert isinstance(await client.hello(IDENTITY, keys), HelloAccepted)
    return client


async def body(client: MiniClient, domain: str, command: str, args: object) -> dict[str, object]:
    reply = await client.request(domain, command, args)
    result = reply[domain][command]
    assert result["error_code"] == 0, result
    return dict(result)


async def change_everything(client: MiniClient) -> None:
    await body(client, "zone", "set_status", {"zone_id": 2, "BYPASSED": True, "pin": PIN})
    await body(
        client, "area", "set_arm_state", {"area_id": 1, "arm_state": "ARMED_STAY", "pin": PIN}
    )
    await body(client, "area", "set_status", {"area_id": 2, "Chime": True})
    await body(client, "output", "set_status", {"output_id": 3, "status": "ON"})
    await body(client, "light", "set_status", {"light_id": 1, "level": 40})
    await body(client, "lock", "set_status", {"lock_id": 1, "status": "OFF"})
    await body(client, "tstat", "set_status", {"tstat_id": 1, "mode": "COOL", "cool_setpoint": 80})
    await body(client, "barrier", "set_status", {"barrier_id": 1, "status": "open"})


async def test_a_restarted_panel_on_another_port_keeps_links_and_state(tmp_path: Path) -> None:
    path = tmp_path / "panel.json"
    async with run_simulator(config(), state_file=path) as sim:
        linker = await MiniClient.open(sim.host, sim.port)
        keys = await linker.link(IDENTITY, access_code=ACCESS_CODE, passphrase=PASSPHRASE)
        await linker.close()
        assert isinstance(keys, LinkKeys)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # saved at once: it holds keys
        client = await session(sim, keys)
        await change_everything(client)
        sim.trigger_alarm(3)  # an alarm the next start must not show, but remember
        log_newest = (await body(client, "log", "get_index", {}))["newest"]
        await client.close()
        old_port = sim.port
    assert keys.enc in path.read_text()  # the link keys are in the file...
    async with run_simulator(config(), state_file=path) as sim:
        assert sim.port != old_port or old_port == 0
        client = await session(sim, keys)  # ...so the same keys work, no new link
        assert sim.stats.links_made == 0
        area = await body(client, "area", "get_status", {"area_id": 1})
        assert area["arm_state"] == "ARMED_STAY" and area["zones_bypassed"] == 1
        assert (await body(client, "area", "get_status", {"area_id": 2}))["Chime"] is True
        area3 = await body(client, "area", "get_status", {"area_id": 3})
        assert area3["alarm_state"] == "NO_ALARM_ACTIVE" and area3["alarm_mem"] == ["BURGLARY"]
        zone = await body(client, "zone", "get_status", {"zone_id": 2})
        assert zone["BYPASSED"] is True
        assert (await body(client, "output", "get_status", {"output_id": 3}))["status"] == "ON"
        assert (await body(client, "light", "get_status", {"light_id": 1}))["level"] == 40
        assert (await body(client, "lock", "get_status", {"lock_id": 1}))["status"] == "OFF"
        tstat = await body(client, "tstat", "get_status", {"tstat_id": 1})
        assert (tstat["mode"], tstat["cool_setpoint"]) == ("COOL", 80)
        barrier = await body(client, "barrier", "get_status", {"barrier_id": 1})
        assert barrier["status"] == "OPEN"  # it was moving; it arrives while the power is off
        index = await body(client, "log", "get_index", {})
        assert index["newest"] == log_newest and index["total"] == log_newest
        listing = await body(client, "log", "get_list", {"start": 0, "cnt": 3})
        assert listing["id"] == [log_newest, log_newest - 1, log_newest - 2]
        await client.close()


async def test_user_codes_persist_unless_given_again(tmp_path: Path) -> None:
    path = tmp_path / "panel.json"
    async with run_simulator(config().with_user_pin(4321), state_file=path) as sim:
        sim.save()
    async with run_simulator(config(), state_file=path) as sim:
        assert sim.describe()["user_pin"] == 4321  # the saved code wins over the profile's
    async with run_simulator(
        config().with_user_pin(5555), state_file=path, keep_user_codes=(1,)
    ) as sim:
        assert sim.describe()["user_pin"] == 5555  # --user-pin given again wins


async def test_without_a_state_file_a_restart_forgets_the_link(tmp_path: Path) -> None:
    async with run_simulator(config()) as sim:
        linker = await MiniClient.open(sim.host, sim.port)
        keys = await linker.link(IDENTITY, access_code=ACCESS_CODE, passphrase=PASSPHRASE)
        await linker.close()
    assert isinstance(keys, LinkKeys)
    async with run_simulator(config()) as sim:
        client = await MiniClient.open(sim.host, sim.port)
        assert isinstance(await client.hello(IDENTITY, keys), HelloLinkRequired)
        await client.close()
    assert list(tmp_path.iterdir()) == []


async def test_revoking_a_link_is_saved(tmp_path: Path) -> None:
    path = tmp_path / "panel.json"
    async with run_simulator(config(), state_file=path) as sim:
        sim.add_link(IDENTITY.sn, LinkKeys(enc="00" * 16, hmac="11" * 20))
        sim.save()
        assert IDENTITY.sn in json.loads(path.read_text())["links"]
        sim.revoke_link(IDENTITY.sn)
        assert json.loads(path.read_text())["links"] == {}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "unusable state file"),
        ('{"format": "something else"}', "not a simulator state file"),
        ('{"format": "e27bridge-simulator-state/1", "mac": "0050C2E27001"}', "missing 'links'"),
        (
            '{"format": "e27bridge-simulator-state/1", "mac": "AABBCCDDEEFF", "links": {},'
            ' "panel": {}}',
            "belongs to panel AABBCCDDEEFF",
        ),
        (
            '{"format": "e27bridge-simulator-state/1", "mac": "0050C2E27001", "links": {},'
            ' "panel": {"version": 99}}',
            "unsupported state version",
        ),
    ],
)
def test_unusable_state_files_are_refused_clearly(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "panel.json"
    path.write_text(content)
    with pytest.raises((StateFileError, ValueError), match=needle):
        Simulator(config(), state_file=path)


def test_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="does not exist"):
        Simulator(config(), state_file=tmp_path / "nowhere" / "panel.json")
