"""Switched off, the Homie v5 tree an earlier run left goes, once, and nothing else does
(ADR-0152): real mosquitto, the bridge over fake panels."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt

from e27bridge.app import bridge_settings
from e27bridge.daemon.config import Config
from e27bridge.mqtt.bridge import MqttBridge
from e27bridge.mqtt.connection import ConnectionSettings
from e27bridge.panel.bus import EventBus
from waiting import wait_until

from .capture import Listener, retained_tree
from .conftest import Broker
from .factories import snapshot
from .fakes import FakeDirectory, FakePanel
from .relay import Relay


def description(root: str | None) -> str:
    doc = {"homie": "5.0", "name": "x", "version": 1}
    return json.dumps(doc if root is None else doc | {"root": root, "parent": root})


OURS = {
    "homie/5/e27bridge/$state": "disconnected",
    "homie/5/e27bridge/$description": description(None),
    "homie/5/home/$state": "disconnected",
    "homie/5/home/$description": description("e27bridge"),
    "homie/5/home/$alert/panel-offline": "The panel session is down",
    "homie/5/home/zone-1/open": "true",
    "homie/5/home/output-1/on/$target": "false",
    "homie/5/office/zone-9/open": "false",  # a fragment: its description already gone
}
NOT_OURS = {
    "homie/5/garage/$state": "ready",  # a configured id, but another bridge's device
    "homie/5/garage/$description": description("other-bridge"),
    "homie/5/garage/zone-1/open": "true",
    "homie/5/other-bridge/$state": "ready",  # another bridge's root
    "homie/5/lamp/$state": "ready",  # some other device under the same prefix
    "homie/5/home/zone-1": "a node-level topic we never publish",
    "homie/5/home/zone-1/open/set": "true",  # a retained command is not ours to drop
}


async def seed(port: int, topics: dict[str, str]) -> None:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for topic, payload in topics.items():
            await client.publish(topic, payload, qos=1, retain=True)


def cleared(listener: Listener) -> set[str]:
    return {m.topic for m in listener.messages if not m.payload}


async def test_homie5_off_clears_our_devices_once_and_leaves_the_rest(broker: Broker) -> None:
    await seed(broker.port, OURS | NOT_OURS)
    config = Config.model_validate(
        {
            "bridge": {"homie_versions": [4]},
            "panels": [
                {"id": pid, "mac": f"00:11:22:33:44:{n:02X}"}
                for n, pid in enumerate(("home", "garage", "office"))
            ],
        }
    )
    bus = EventBus()
    panels = [FakePanel(snapshot(pid), bus) for pid in ("home", "garage", "office")]
    async with Relay(broker.port) as relay, Listener(broker.port, ("homie/5/#",)) as listener:
        settings = ConnectionSettings(port=relay.port, client_id="e27bridge", min_backoff=0.05)
        bridge = MqttBridge(FakeDirectory(panels, bus), bridge_settings(config, settings))
        # The grace (5 s in production) is all the time the retained burst has to come in:
        # 0.3 s missed part of it on a loaded machine (two pytest workers).
        bridge.echo_grace = 2.0
        sweep = next(f for f in bridge.features if f.name == "homie5_sweep")
        task = asyncio.create_task(bridge.run())
        try:
            await wait_until(lambda: getattr(sweep, "sweeps", 0) == 1, "the first sweep")
            # A finished sweep has handed its clears to the (pipelined) sink; the broker has
            # them once they come back to a subscriber.
            await wait_until(lambda: set(OURS) <= cleared(listener), "our topics cleared")
            assert await retained_tree(broker.port, "homie/5/#") == {
                t: p.encode() for t, p in NOT_OURS.items()
            }
            relay.cut()  # a reconnect subscribes again and finds nothing more to clear
            await wait_until(lambda: getattr(sweep, "sweeps", 0) == 2, "the second sweep")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # exactly one empty publish for each of our topics, none for anything else
        await listener.wait_topic("homie/5/office/zone-9/open", b"")
        empty = [m.topic for m in listener.messages if not m.payload]
        assert sorted(empty) == sorted(OURS)
        # a device's $state goes first, then the rest of it
        assert empty.index("homie/5/home/$state") < empty.index("homie/5/home/zone-1/open")
