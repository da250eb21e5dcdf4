"""The in-process runner with the real panel: discovery, port moves, MAC change, control channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from e27bridge.protocol.discovery import PROBE, PanelAnnouncement, parse_reply
from e27bridge.protocol.hello import HelloAccepted
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.simulator.config import profile_config
from e27bridge.simulator.control import ControlError, parse_address
from e27bridge.simulator.runner import Simulator, loopback_config, run_simulator

from .conftest import MiniClient, wait_for

CONFIG = loopback_config(profile_config("small"))
CREDS = {"access_code": CONFIG.credentials.access_code, "passphrase": CONFIG.credentials.passphrase}


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replies.put_nowait((data, addr[0]))


async def probe(
    port: int, payload: bytes = PROBE, timeout: float = 0.5
) -> PanelAnnouncement | None:
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        _Collector, local_addr=("127.0.0.1", 0)
    )
    try:
        transport.sendto(payload, ("127.0.0.1", port))
        data, host = await asyncio.wait_for(collector.replies.get(), timeout)
        return parse_reply(data, host)
    except TimeoutError:
        return None
    finally:
        transport.close()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with run_simulator(CONFIG, control="127.0.0.1:0") as running:
        yield running


async def linked_session(sim: Simulator, sn: str = "00AABBCCDDEE") -> MiniClient:
    identity = ClientIdentity(sn=sn)
    linker = await MiniClient.open(sim.host, sim.port)
    keys = await linker.link(identity, **CREDS)
    await linker.close()
    assert isinstance(keys, LinkKeys)
    client = await MiniClient.open(sim.host, sim.port)
    assert isinstance(await client.hello(identity, keys), HelloAccepted)
    return client


async def test_discovery_answers_probes_with_the_current_port_and_mac(sim: Simulator) -> None:
    announcement = await probe(sim.discovery_port)
    assert announcement is not None
    assert (announcement.port, announcement.mac) == (sim.port, CONFIG.identity.mac)
    assert announcement.name == CONFIG.identity.name
    assert announcement.serial == CONFIG.identity.serial
    assert announcement.host == "127.0.0.1"
    assert await probe(sim.discovery_port, b'{ "FIND": "ELKWCID" }') is not None
    assert await probe(sim.discovery_port, b"hello?", timeout=0.2) is None


async def test_port_move_keeps_the_mac_and_discovery_follows(sim: Simulator) -> None:
    client = await linked_session(sim)
    old = sim.port
    new = await sim.move_to_port(0)
    assert new == sim.port != old
    assert await client.closed_by_server()
    announcement = await probe(sim.discovery_port)
    assert announcement is not None
    assert (announcement.port, announcement.mac) == (new, CONFIG.identity.mac)


async def test_change_mac_is_reported_and_drops_sessions(sim: Simulator) -> None:
    client = await linked_session(sim)
    assert sim.change_mac("00:50:c2:e2:70:99") == "0050C2E27099"
    assert await client.closed_by_server()
    announcement = await probe(sim.discovery_port)
    assert announcement is not None and announcement.mac == "0050C2E27099"


async def test_discovery_is_silent_while_the_panel_restarts(sim: Simulator) -> None:
    restart = asyncio.create_task(sim.restart(0.8))
    await wait_for(lambda: not sim.server.listening)
    assert await probe(sim.discovery_port, timeout=0.2) is None
    await restart
    assert await probe(sim.discovery_port) is not None


async def test_zone_change_from_the_python_api_is_broadcast(sim: Simulator) -> None:
    client = await linked_session(sim)
    zone_id = CONFIG.inventory.zones[0].id
    sim.set_zone(zone_id, "open")
    message = await client.next_message()
    assert message["seq"] == 0
    assert sim.stats.broadcasts_sent >= 1
    await client.close()


class ControlClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send_raw(self, line: bytes) -> dict[str, Any]:
        self.writer.write(line)
        reply = await asyncio.wait_for(self.reader.readline(), 3.0)
        result: dict[str, Any] = json.loads(reply)
        return result

    async def __call__(self, cmd: str, **args: Any) -> dict[str, Any]:
        return await self.send_raw(json.dumps({"cmd": cmd, **args}).encode() + b"\n")

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def control_client(sim: Simulator) -> ControlClient:
    assert sim.control is not None
    host, port = sim.control.rsplit(":", 1)
    return ControlClient(*await asyncio.open_connection(host, int(port)))


async def test_control_channel_commands(sim: Simulator) -> None:
    ctl = await control_client(sim)
    client = await linked_session(sim)
    assert await ctl("ping", id=7) == {"id": 7, "ok": True}
    described = (await ctl("describe"))["simulator"]
    assert described["port"] == sim.port and described["mac"] == sim.mac
    assert (await ctl("set_faults", faults={"response_delay": 0.05}))["faults"][
        "response_delay"
    ] == 0.05
    assert sim.faults.response_delay == 0.05
    bad = await ctl("set_faults", faults={"drop_reply_probability": 3})
    assert bad["ok"] is False and "between 0 and 1" in bad["error"]
    assert (await ctl("clear_faults"))["faults"]["response_delay"] == 0.0
    pin = sim.panel.user1_pin()
    assert (await ctl("keypad", action="arm_away", area_id=1, pin=pin))["error_code"] == 0
    assert (await client.next_message())["seq"] == 0  # the exit delay is broadcast
    assert sim.panel.log.entries[-1].text == "Area 1 armed away by user 1"
    assert (await ctl("keypad", action="disarm", area_id=1, pin=pin + 1))["error_code"] == 11004
    assert (await ctl("keypad", action="disarm", area_id=1, pin=pin))["error_code"] == 0
    assert (await ctl("keypad", action="dance", area_id=1, pin=pin))["ok"] is False
    no_zone = await ctl("keypad", action="bypass", area_id=1, pin=pin)
    assert no_zone["error"] == "missing 'zone_id'"
    assert (await ctl("set_zone", zone_id=CONFIG.inventory.zones[0].id, state="open"))["ok"]
    assert (await client.next_message())["seq"] == 0
    assert (await ctl("trigger_alarm", area_id=1))["ok"]
    assert (await ctl("set_trouble", name="ac fail", active=True))["ok"]
    stats = (await ctl("stats"))["stats"]
    assert stats["sessions_opened"] == 1 and stats["links_made"] == 1
    assert (await ctl("set_behaviour", session_policy="replace", strict=True)) == {
        "ok": True,
        "session_policy": "replace",
        "strict": True,
    }
    assert (await ctl("revoke_link", sn="00AABBCCDDEE", close_sessions=True))["revoked"] == [
        "00AABBCCDDEE"
    ]
    assert await client.closed_by_server()
    assert (await ctl("change_mac", mac="0050C2E27055"))["mac"] == "0050C2E27055"
    assert (await ctl("change_mac", mac="zz"))["ok"] is False
    assert (await ctl("drop_sessions"))["dropped"] == 0
    moved = await ctl("move_to_port", port=0)
    assert moved["port"] == sim.port
    restart = await ctl("restart", down_for=0.2)
    assert restart["ok"] and not sim.server.listening
    await wait_for(lambda: sim.server.listening)
    assert (await ctl("restart", down_for=0.05, wait=True))["ok"] and sim.server.listening
    # Bad input gets a clear error line and the channel keeps working.
    assert (await ctl("no_such"))["ok"] is False
    assert (await ctl("set_zone", zone_id="1", state="open"))["ok"] is False
    assert (await ctl("set_zone", state="open"))["error"] == "missing 'zone_id'"
    assert (await ctl.send_raw(b"{nope\n"))["ok"] is False
    assert (await ctl.send_raw(b"[1]\n"))["ok"] is False
    assert await ctl("ping") == {"ok": True}
    await ctl.close()


async def test_control_channel_on_a_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "ctl.sock"
    async with run_simulator(CONFIG, control=str(path)) as sim:
        assert sim.control == str(path)
        assert path.stat().st_mode & 0o777 == 0o600
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b'{"cmd":"faults"}\n')
        reply = json.loads(await asyncio.wait_for(reader.readline(), 3.0))
        assert reply["ok"] and reply["faults"]["split_frames"] is False
        writer.close()
    assert not path.exists()


async def test_control_refuses_a_non_loopback_tcp_address() -> None:
    with pytest.raises(ControlError):
        parse_address("192.0.2.1:9000")
    assert parse_address("localhost:0") == ("localhost", 0)
    assert parse_address("[::1]:5") == ("::1", 5)
    assert parse_address("/tmp/x.sock") == "/tmp/x.sock"


async def test_pre_linked_clients_and_stats_snapshot(sim: Simulator) -> None:
    keys = LinkKeys(enc="11" * 16, hmac="22" * 20)
    assert sim.add_link("PRELINKED", keys)
    client = await MiniClient.open(sim.host, sim.port)
    assert isinstance(await client.hello(ClientIdentity(sn="PRELINKED"), keys), HelloAccepted)
    reply = await client.request("area", "get_status", {"area_id": 1})
    assert reply["area"]["get_status"]["error_code"] == 0
    snapshot = sim.stats_snapshot()
    assert snapshot["domain_counts"]["area"] == 1
    assert snapshot["requests_total"] == 1
    await client.close()


async def test_control_survives_an_unexpected_error(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(zone_id: int, state: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sim, "set_zone", broken)
    ctl = await control_client(sim)
    reply = await ctl("set_zone", zone_id=1, state="open")
    assert reply == {"ok": False, "error": "internal error: RuntimeError"}
    assert await ctl("ping") == {"ok": True}
    await ctl.close()
