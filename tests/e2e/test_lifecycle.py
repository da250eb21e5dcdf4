"""Broker restart, Home Assistant birth, a zone removed from the panel, and the panel going
away and coming back: the retained tree always ends up complete and correct."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from e27bridge.mqtt.topics import mac12
from mqtt.capture import retained_tree

from . import golden
from .conftest import (
    ACCESS_CODE,
    HASS_CONFIG,
    PANEL,
    PASSPHRASE,
    H,
    InProcessDaemon,
    Stack,
    StackFactory,
    SubprocessDaemon,
    sim_config,
)
from .validate import hass_config_errors, homie_errors

BASE = "e27bridge/bridge"


def run_values(s: Stack) -> dict[Any, str]:
    return {s.broker.port: "<mqtt-port>", str(s.state_dir): "<state-dir>"}


async def stable_tree(s: Stack) -> dict[str, Any]:
    return golden.normalise(await retained_tree(s.broker.port), run_values(s))


async def test_broker_restart_republishes_everything(stack: StackFactory) -> None:
    async with stack() as s:
        before = await stable_tree(s)
        assert isinstance(s.daemon, InProcessDaemon)
        republished = s.daemon.daemon.bridge.republished
        republished.clear()
        await asyncio.to_thread(s.broker.restart)  # no persistence: every retained topic gone
        await asyncio.wait_for(republished.wait(), 10)
        after: dict[str, Any] = {}
        for _ in range(40):
            after = await stable_tree(s)
            if after == before:
                break
        assert golden.differences(before, after) == []


async def health_round_trip(s: Stack) -> int:
    """A ``health_check`` answered: the bridge handles inbound messages one at a time, in
    order, so it has handled everything sent before. Returns the answer's index."""
    mark = s.listener.mark()
    await s.send(f"{BASE}/request/health_check", "")
    await s.listener.wait_topic(f"{BASE}/response/health_check", start=mark, timeout=20)
    return s.listener.mark()


async def test_hass_birth_and_republish_request(stack: StackFactory) -> None:
    async with stack() as s:
        assert isinstance(s.daemon, InProcessDaemon)
        [hass] = [f for f in s.daemon.daemon.bridge.features if f.name == "hass"]
        mark = s.listener.mark()
        await s.send("homeassistant/status", "offline")
        handled = await health_round_trip(s)
        # HA going offline schedules no republish (it would be a delayed task) and sends none.
        assert hass._birth_task is None  # type: ignore[attr-defined]
        assert not [m for m in s.listener.messages[mark:handled] if m.topic == HASS_CONFIG]
        await s.send("homeassistant/status", "online")
        message = await s.listener.wait_topic(HASS_CONFIG, start=mark, timeout=20)
        tree = await retained_tree(s.broker.port)
        assert message.payload == tree[HASS_CONFIG]
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), ()) == []
        # the bridge request does the same for everything, and answers once
        mark = s.listener.mark()
        await s.send(f"{BASE}/request/republish", json.dumps({"transaction": "r1"}))
        reply = await s.listener.wait_topic(f"{BASE}/response/republish", start=mark, timeout=20)
        assert reply.json()["status"] == "ok" and reply.json()["transaction"] == "r1"
        await s.listener.wait_topic(HASS_CONFIG, start=mark, timeout=20)
        await s.listener.wait_topic(f"{H}/$description", start=mark, timeout=20)


async def test_resync_reads_the_panel_again(stack: StackFactory) -> None:
    async with stack() as s:
        before = await stable_tree(s)
        mark = s.listener.mark()
        await s.send(f"{BASE}/request/resync", json.dumps({"panel": PANEL, "transaction": 5}))
        reply = await s.listener.wait_topic(f"{BASE}/response/resync", start=mark)
        assert reply.json()["status"] == "ok" and reply.json()["transaction"] == 5
        assert reply.json()["data"]["reads"] > 1  # every kind's status and the troubles
        after = await stable_tree(s)
        changed = golden.differences(before, after)
        assert all("/system/" in c for c in changed), changed  # health counters at most
        states = [m.payload for m in s.listener.messages[mark:] if m.topic == f"{H}/$state"]
        assert b"disconnected" not in states  # through the queue, the session stays up


async def test_zone_removed_from_the_panel_is_removed_everywhere(stack: StackFactory) -> None:
    async with stack() as s:
        gone = 16
        tree = await retained_tree(s.broker.port)
        assert f"{H}/zone-{gone}/open" in tree
        smaller = sim_config()
        zones = tuple(z for z in smaller.inventory.zones if z.id != gone)
        mark = s.listener.mark()
        await s.replace_panel(sim_config(zones=zones))
        await s.wait_ready(mark)
        config = await s.listener.wait_for(
            lambda m: (
                m.topic == HASS_CONFIG
                and m.json()["components"].get(f"zone-{gone}") == {"platform": "binary_sensor"}
            ),
            start=mark,
        )
        components = config.json()["components"]
        assert f"zone-{gone}-bypass" not in components  # no bypass_code configured
        assert components["zone-15"]["platform"] == "binary_sensor"
        tree = await retained_tree(s.broker.port)
        assert not [t for t in tree if t.startswith(f"{H}/zone-{gone}/")]
        description = json.loads(tree[f"{H}/$description"])
        assert f"zone-{gone}" not in description["nodes"]
        assert "zone-15" in description["nodes"]
        assert homie_errors(tree, "e27bridge") == []
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), ()) == []
        # the new `$description` was published, and only while the device was in `init`
        state, descriptions = b"ready", 0
        for m in s.listener.messages[mark:]:
            if m.topic == f"{H}/$state":
                state = m.payload
            elif m.topic == f"{H}/$description":
                descriptions += 1
                assert state == b"init", "$description changed outside init"
        assert descriptions >= 1 and state == b"ready"


async def test_panel_down_makes_entities_unavailable_and_back(stack: StackFactory) -> None:
    async with stack() as s:
        tree = await retained_tree(s.broker.port)
        availability = json.loads(tree[HASS_CONFIG])["availability"]
        assert {a["topic"] for a in availability} == {f"{H}/$state", "homie/5/e27bridge/$state"}
        assert all(a["payload_available"] == "ready" for a in availability)
        port = s.sim.port
        mark = s.listener.mark()
        await s.sim.server.stop_listening("panel_down")  # the panel is gone (port closed)
        await s.value(f"{H}/$state", b"disconnected", mark)
        await s.listener.wait_topic(f"{H}/$alert/panel-offline", start=mark)
        info = await s.listener.wait_for(
            lambda m: m.topic == f"{BASE}/info" and m.json()["panels"][0]["state"] != "ready",
            start=mark,
        )
        assert info.json()["panels"][0]["state"] in ("disconnected", "connecting")
        await asyncio.sleep(1.0)  # stays down for a while: several failed reconnects
        tree = await retained_tree(s.broker.port)
        assert tree[f"{H}/$state"] == b"disconnected"  # HA: every entity unavailable
        # a command while the panel is down waits in the paused queue...
        pending = asyncio.create_task(s.command(f"{H}/output-1/on/set", "true"))
        await asyncio.sleep(0.3)
        assert not pending.done()
        back = s.listener.mark()
        await s.sim.server.listen(port)
        await s.wait_ready(back, timeout=10)
        await s.listener.wait_topic(f"{H}/$alert/panel-offline", b"", start=back)
        # ...and runs once the panel is back (within command_max_age)
        _, result = await asyncio.wait_for(pending, 10)
        assert result["status"] == "ok"
        await s.value(f"{H}/output-1/on", b"true", back)
        tree = await retained_tree(s.broker.port)
        assert tree[f"{H}/$state"] == b"ready"
        assert not [t for t in tree if "/$alert/" in t]
        assert homie_errors(tree, "e27bridge") == []


async def test_zone_removed_while_the_bridge_was_down_leaves_no_ghosts(
    stack: StackFactory,
) -> None:
    async with stack() as s:
        gone = 16
        await s.daemon.stop()
        zones = tuple(z for z in sim_config().inventory.zones if z.id != gone)
        await s.replace_panel(sim_config(zones=zones))
        # more leftovers of an earlier run: an alert, a property and a $target nobody has now
        stale = [f"{H}/$alert/ac-fail", f"{H}/zone-1/colour", f"{H}/zone-1/open/$target"]
        for topic in stale:
            await s.send(topic, "old", retain=True)
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.wait_ready(mark)
        await s.listener.wait_for(
            lambda m: (
                m.topic == HASS_CONFIG
                and m.json()["components"].get(f"zone-{gone}") == {"platform": "binary_sensor"}
            ),
            start=mark,
        )
        for topic in stale:
            await s.listener.wait_topic(topic, b"", start=mark)

        def ghosts(tree: dict[str, bytes]) -> list[str]:
            return [t for t in tree if t.startswith(f"{H}/zone-{gone}/") or t in stale]

        async with asyncio.timeout(5):  # ghosts are cleared one publish at a time
            while ghosts(tree := await retained_tree(s.broker.port)):
                await asyncio.sleep(0.1)
        assert f"zone-{gone}" not in json.loads(tree[f"{H}/$description"])["nodes"]
        assert homie_errors(tree, "e27bridge") == []
        assert tree[f"{H}/zone-1/open"] == b"false"  # live values stay


async def test_command_for_a_panel_that_stays_down_expires(stack: StackFactory) -> None:
    async with stack(command_max_age=0.5) as s:
        port = s.sim.port
        mark = s.listener.mark()
        await s.sim.server.stop_listening("panel_down")
        await s.value(f"{H}/$state", b"disconnected", mark)
        _, result = await s.command(f"{H}/output-1/on/set", "true")
        assert result["status"] == "expired", result
        back = s.listener.mark()
        await s.sim.server.listen(port)
        await s.wait_ready(back, timeout=10)
        await asyncio.sleep(0.3)
        tree = await retained_tree(s.broker.port)
        assert tree[f"{H}/output-1/on"] == b"false"  # the expired command never ran
        assert tree[f"{H}/output-1/on/$target"] == b"false"  # back to the real value


async def test_unlinked_panel_reports_link_required_and_refuses_commands(
    stack: StackFactory,
) -> None:
    async with stack(link=False) as s:  # no keys stored, no credentials configured
        await s.listener.wait_topic(f"{H}/$alert/link-required", timeout=10)
        await s.value("homie/5/e27bridge/$state", b"ready", 0)
        info = await s.listener.wait_for(
            lambda m: m.topic == f"{BASE}/info" and m.json()["panels"][0]["link_required"],
            timeout=5,
        )
        assert info.json()["panels"][0]["state"] == "link_required"
        tree = await retained_tree(s.broker.port)
        assert tree[f"{H}/$state"] == b"disconnected"
        assert homie_errors(tree, "e27bridge") == []
        _, result = await s.command(f"{H}/output-1/on/set", "true")
        # the inventory was never read, so the bridge knows no such entity yet
        assert result["status"] == "invalid" and result["error"]["reason"] == "unknown_entity"
        assert s.sim.stats.sessions_opened == 0 and s.sim.stats.links_made == 0


async def test_link_revoked_on_the_panel_logs_link_required_with_the_panels_code(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True) as s:
        mark = s.listener.mark()
        s.sim.revoke_link(close_sessions=True)
        await s.listener.wait_topic(f"{H}/$alert/link-required", start=mark, timeout=10)
        assert isinstance(s.daemon, SubprocessDaemon)
        lines = [json.loads(line) for line in s.daemon.log().splitlines() if line.startswith("{")]
        (event,) = [line for line in lines if line.get("event") == "link_required"]
        assert event["error_code"] == 11006  # the panel's refusal, not redacted like a PIN


async def test_keys_linked_while_running_are_taken_without_a_restart(stack: StackFactory) -> None:
    async with stack(link=False) as s:  # started first, as a Docker user might
        await s.listener.wait_topic(f"{H}/$alert/link-required", timeout=10)
        mark = s.listener.mark()
        linked = await asyncio.to_thread(
            subprocess.run,
            [
                str(Path(sys.executable).parent / "e27bridge"),
                "link",
                "--state-dir",
                str(s.state_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(s.sim.port),
                "--discovery-port",
                str(s.sim.discovery_port),
                "--stdin",
            ],
            input=f"{ACCESS_CODE}\n{PASSPHRASE}\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert linked.returncode == 0, linked.stderr
        await s.wait_ready(mark, timeout=30)  # the daemon looks about every 10 s
        assert s.sim.stats.links_made == 1
