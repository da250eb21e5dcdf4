"""Home Assistant discovery over the real daemon, mosquitto and simulator: entities that match
what the panel reports (issue 11 item 2)."""

from __future__ import annotations

import dataclasses
import json

from mqtt.capture import retained_tree

from .conftest import HASS_CONFIG, H, StackFactory, sim_config


async def test_a_celsius_panel_gets_celsius_thermostats_with_its_limits(
    stack: StackFactory,
) -> None:
    config = sim_config()
    celsius = dataclasses.replace(config.behaviour, tstat_units="C", tstat_setpoint_max=30)
    async with stack(config=dataclasses.replace(config, behaviour=celsius)) as s:
        tree = await retained_tree(s.broker.port, settle=0.2)
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
        tree = await retained_tree(s.broker.port, settle=0.2)
        components = json.loads(tree[HASS_CONFIG])["components"]
        assert "brightness_command_topic" in components["light-1"]
        assert not [k for k in components["light-2"] if k.startswith("brightness")]
        nodes = json.loads(tree[f"{H}/$description"])["nodes"]
        assert set(nodes["light-2"]["properties"]) == {"on"}
        assert f"{H}/light-2/level" not in tree
        mark, result = await s.command(f"{H}/light-2/on/set", "true")
        assert result["status"] == "ok"
        await s.value(f"{H}/light-2/on", b"true", mark)
