"""`e27bridge run` as a subprocess over the small simulator: the whole retained tree is what
the golden file says, and every payload in it passes the strict schemas and Homie rules."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from e27bridge.mqtt.topics import mac12
from mqtt.capture import retained_tree
from waiting import wait_until

from . import golden
from .conftest import (
    ACCESS_CODE,
    PANEL,
    PASSPHRASE,
    PIN,
    H,
    Stack,
    StackFactory,
    SubprocessDaemon,
)
from .validate import hass_config_errors, homie_errors

SECRETS = (ACCESS_CODE, PASSPHRASE, str(PIN))


def run_values(s: Stack) -> dict[Any, str]:
    return {
        s.broker.port: "<mqtt-port>",
        s.sim.port: "<panel-port>",
        s.sim.discovery_port: "<discovery-port>",
        str(s.state_dir): "<state-dir>",
    }


async def test_retained_tree_matches_golden_and_validates(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        # bridge/info follows the panel on a consumer of its own: wait until it says ready
        await s.listener.wait_for(
            lambda m: (
                m.topic == "e27bridge/bridge/info" and m.json()["panels"][0]["state"] == "ready"
            )
        )
        tree = await retained_tree(s.broker.port)
        assert tree[f"{H}/$state"] == b"ready"
        assert tree["homie/5/e27bridge/$state"] == b"ready"
        assert homie_errors(tree, "e27bridge") == []
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), SECRETS) == []
        everything = b"\n".join(tree.values()).decode("utf-8", "replace")
        assert not [secret for secret in SECRETS if secret in everything]
        golden.check("small-profile", golden.normalise(tree, run_values(s)))
    # SIGTERM: a clean goodbye, so every entity is unavailable in HA (availability topics)
    tree = await retained_tree(s.broker.port)
    assert tree["e27bridge/bridge/state"] == b'{"state": "offline"}'
    assert tree["homie/5/e27bridge/$state"] == b"disconnected"
    assert tree[f"{H}/$state"] == b"disconnected"
    assert json.loads(tree["e27bridge/bridge/info"])["panels"][0]["state"] == "disconnected"
    assert isinstance(s.daemon, SubprocessDaemon)
    log = s.daemon.log()
    assert not [secret for secret in SECRETS if secret in log]
    assert '"event": "daemon_stopped"' in log


async def test_killed_daemon_leaves_wills_and_restarts_without_linking_again(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True) as s:
        assert isinstance(s.daemon, SubprocessDaemon)
        key_file = s.state_dir / "links" / f"{s.sim.mac}.json"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert ACCESS_CODE not in key_file.read_text() and PASSPHRASE not in key_file.read_text()
        mark = s.listener.mark()
        s.daemon.kill()
        await s.value("homie/5/e27bridge/$state", b"lost", mark)
        await s.value("e27bridge/bridge/state", b'{"state": "offline"}', mark)
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.value("homie/5/e27bridge/$state", b"ready", mark)
        await s.value("e27bridge/bridge/state", b'{"state": "online"}', mark)
        await s.wait_ready(mark)
        assert s.sim.stats.links_made == 1  # the stored keys were used, no second link


async def test_a_restart_with_the_stored_inventory_publishes_the_same_tree(
    stack: StackFactory,
) -> None:
    """A warm start reads no configuration (ADR-0014), and the tree is the golden one."""
    async with stack(subprocess=True) as s:
        inventory = s.state_dir / "inventory" / f"{s.sim.mac}.json"
        assert inventory.stat().st_mode & 0o777 == 0o600
        assert not [secret for secret in SECRETS if secret in inventory.read_text()]
        s.sim.panel.request_counts.clear()
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.wait_ready(mark)

        def info_states() -> list[str]:
            info = [m for m in s.listener.messages[mark:] if m.topic == "e27bridge/bridge/info"]
            return [m.json()["panels"][0]["state"] for m in info]

        # The first bridge/info after the restart can still say ready (seen: ready, connecting,
        # ready): the restarted daemon's ready is the one after a connecting.
        await wait_until(
            lambda: "connecting" in (states := info_states()) and states[-1] == "ready",
            "the restarted daemon's bridge/info to say ready",
            timeout=20,
        )
        # A warm start is ready before the MQTT side has published everything: the root
        # device says ready last, once every child is described.
        await s.value("homie/5/e27bridge/$state", b"ready", mark, timeout=20)
        reads = [k for k in s.sim.panel.request_counts if k[1] in ("get_configured", "get_attribs")]
        assert reads == []
        assert s.sim.panel.request_counts["zone", "get_all_zones_status", None] == 1
        # Under load a republish can follow the first ready (init again): wait it out.
        tree: dict[str, bytes] = {}

        async def both_ready() -> bool:
            nonlocal tree
            tree = await retained_tree(s.broker.port)
            return tree[f"{H}/$state"] == tree["homie/5/e27bridge/$state"] == b"ready"

        async with asyncio.timeout(20):
            while not await both_ready():
                await asyncio.sleep(0.05)
        golden.check("small-profile", golden.normalise(tree, run_values(s)))
