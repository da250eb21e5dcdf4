"""Home Assistant discovery over the real daemon, mosquitto and simulator: entities that match
what the panel reports (issue 11 item 2); the device, component and off forms and the moves
between them (item 5)."""

from __future__ import annotations

import dataclasses
import json
import re

from e27bridge.mqtt.hass import MIGRATE
from mqtt.capture import retained_tree
from mqtt.schemas import hass_component_errors, hass_errors
from waiting import wait_until

from . import golden
from .conftest import HASS_CONFIG, H, Stack, StackFactory, sim_config


async def test_a_celsius_panel_gets_celsius_thermostats_with_its_limits(
    stack: StackFactory,
) -> None:
    config = sim_config()
    celsius = dataclasses.replace(config.behaviour, tstat_units="C", tstat_setpoint_max=30)
    async with stack(config=dataclasses.replace(config, behaviour=celsius)) as s:
        tree = await retained_tree(s.broker.port)
        climate = json.loads(tree[HASS_CONFIG])["components"]["tstat-1"]
        assert (climate["temperature_unit"], climate["min_temp"], climate["max_temp"]) == (
            "C",
            5,
            30,
        )
        assert climate["temp_step"] == 1
        heat = json.loads(tree[f"{H}/$description"])["nodes"]["tstat-1"]["properties"][
            "heat-setpoint"
        ]
        assert (heat["format"], heat["unit"]) == ("5:30:1", "°C")
        _, result = await s.command(f"{H}/tstat-1/heat-setpoint/set", "31")
        assert result["status"] == "invalid" and result["error"]["reason"] == "out_of_range"
        mark, result = await s.command(f"{H}/tstat-1/heat-setpoint/set", "30")
        assert result["status"] == "ok"
        await s.value(f"{H}/tstat-1/heat-setpoint", b"30", mark)


async def test_a_light_that_cannot_dim_is_an_on_off_light(stack: StackFactory) -> None:
    async with stack() as s:
        assert [light.dimmable for light in s.sim.config.inventory.lights] == [True, False]
        tree = await retained_tree(s.broker.port)
        components = json.loads(tree[HASS_CONFIG])["components"]
        assert "brightness_command_topic" in components["light-1"]
        assert not [k for k in components["light-2"] if k.startswith("brightness")]
        nodes = json.loads(tree[f"{H}/$description"])["nodes"]
        assert set(nodes["light-2"]["properties"]) == {"on"}
        assert f"{H}/light-2/level" not in tree
        mark, result = await s.command(f"{H}/light-2/on/set", "true")
        assert result["status"] == "ok"
        await s.value(f"{H}/light-2/on", b"true", mark)


def discovery_state(s: Stack, start: int = 0) -> dict[str, bytes]:
    """The discovery topics the broker retains now, as the listener saw them change."""
    state: dict[str, bytes] = {}
    for message in s.listener.messages[start:]:
        if message.topic.startswith("homeassistant/") and message.topic != "homeassistant/status":
            state[message.topic] = message.payload
    return {topic: payload for topic, payload in state.items() if payload}


def unique_ids(configs: dict[str, bytes]) -> set[str]:
    out: set[str] = set()
    for payload in configs.values():
        config = json.loads(payload)
        for component in config.get("components", {"": config}).values():
            if "unique_id" in component:
                out.add(component["unique_id"])
    return out


async def restart_in(s: Stack, mode: str) -> int:
    text = re.sub(
        r'discovery_mode = "\w+"', f'discovery_mode = "{mode}"', s.config_path.read_text()
    )
    s.config_path.write_text(text)
    mark = s.listener.mark()
    await s.restart_daemon()
    await s.wait_ready(mark)
    return mark


async def test_discovery_forms_golden_and_switching_keeps_every_entity(
    stack: StackFactory,
) -> None:
    async with stack() as s:
        device = discovery_state(s)[HASS_CONFIG]
        # device -> component: one config per entity, the device config moved and gone
        mark = await restart_in(s, "component")
        events = "homeassistant/event/home/system-events/config"
        await s.listener.wait_topic(events, start=mark, timeout=8)
        await wait_until(lambda: HASS_CONFIG not in discovery_state(s), "the device config gone")
        moved = [m.topic for m in s.listener.messages[mark:] if m.payload == MIGRATE.encode()]
        assert moved == [HASS_CONFIG]
        tree = await retained_tree(s.broker.port, "homeassistant/#")
        assert HASS_CONFIG not in tree and len(tree) > 20
        assert unique_ids(tree) == unique_ids({HASS_CONFIG: device})
        for topic, payload in tree.items():
            assert hass_component_errors(topic.split("/")[1], json.loads(payload)) == [], topic
        golden.check("hass-component", golden.normalise(tree, {}))
        components = unique_ids(tree)

        # component -> device: the same entities, each per-component config moved and gone
        mark = await restart_in(s, "device")
        await wait_until(
            lambda: set(discovery_state(s, 0)) == {HASS_CONFIG}, "only the device config"
        )
        device = json.loads(discovery_state(s)[HASS_CONFIG])
        assert hass_errors(device) == []
        assert unique_ids({HASS_CONFIG: discovery_state(s)[HASS_CONFIG]}) == components
        moved = [
            m for m in s.listener.messages[mark:] if m.payload == b'{"migrate_discovery":true}'
        ]
        assert {m.topic for m in moved} == set(tree)

        # device -> off: nothing left for Home Assistant
        await restart_in(s, "off")
        await wait_until(lambda: not discovery_state(s), "no discovery config at all")
        assert not await retained_tree(s.broker.port, "homeassistant/#")
