"""`e27bridge run` read by Homie controllers: the ordering rules of Homie v5 over every
message the broker carried, and an independent Homie 5 controller (ebus-sdk) that discovers
the tree, finds every value and ``$target``, and drives a property through ``/set``."""

from __future__ import annotations

from typing import Any

from ebus_sdk import Controller

from e27bridge.mqtt.homie_rules import StreamChecker
from waiting import wait_until

from .conftest import PANEL, StackFactory

ROOT = "e27bridge"


def owed(device: Any) -> list[str]:
    """What the controller has not seen: values of retained properties, their targets."""
    missing: list[str] = []
    for node_id in device.get_nodes():
        for prop_id, prop in device.get_node_properties(node_id).items():
            if prop.get("retained", True) is False:
                continue
            if device.get_property(node_id, prop_id) is None:
                missing.append(f"{node_id}/{prop_id}")
            elif prop.get("settable") and device.get_property_target(node_id, prop_id) is None:
                missing.append(f"{node_id}/{prop_id}/$target")
    return missing


async def test_every_message_keeps_the_homie_v5_ordering_rules(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        await s.listener.wait_topic(f"homie/5/{ROOT}/$state", b"ready")
        # a command and its $target, value and result, then a restart: still in order
        mark, result = await s.command(f"homie/5/{PANEL}/output-1/on/set", "true")
        assert result["status"] == "ok"
        await s.value(f"homie/5/{PANEL}/output-1/on", b"true", mark)
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.wait_ready(mark)
        await s.listener.wait_topic(f"homie/5/{ROOT}/$state", b"ready", start=mark)
    checker = StreamChecker()
    for message in s.listener.messages:
        checker.feed(message.topic, message.payload)
    assert checker.errors == []


async def test_an_independent_homie5_controller_reads_and_drives_the_tree(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True) as s:
        controller = Controller(
            mqtt_cfg={"host": "127.0.0.1", "port": s.broker.port},
            homie_domain="homie",
        )
        try:
            client = controller.mqttc
            assert client is not None
            # wildcard discovery (homie/5/+/$state) once connected: its tree-rooted mode
            # drops a start made after the connection until its 10 s stuck check
            await wait_until(client.is_connected, "the controller's connection")
            controller.start_discovery()
            await wait_until(lambda: controller.is_tree_complete(ROOT), "the described tree")
            panel = controller.get_device(PANEL)
            assert panel is not None and panel.root_id == ROOT and panel.parent_id == ROOT
            assert controller.get_effective_state(PANEL) == "ready"
            await wait_until(lambda: not owed(panel), f"every value and $target: {owed(panel)}")
            assert panel.get_property("zone-1", "open") == "false"
            assert panel.get_property_target("output-1", "on") == "false"

            controller.set_property(PANEL, "output-1", "on", "true")
            await wait_until(
                lambda: (
                    panel.get_property("output-1", "on") == "true"
                    and panel.get_property_target("output-1", "on") == "true"
                ),
                "the controller to see the value and $target it set",
            )
        finally:
            controller.stop()
