"""A panel whose area status has no ``alarm_state`` (ADR-0016, ADR-0205): the alarm reaches
Homie and Home Assistant from ``alarms`` alone, in both formats the simulator serves, and
the alarm memory is published from ``alarm_mem`` until it is acknowledged."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mqtt.capture import retained_tree
from mqtt.schemas import hass_errors

from .conftest import HASS_CONFIG, PIN, H, Stack, StackFactory, sim_config

H4 = "homie/home"
DISARM = json.dumps({"action": "disarm", "code": PIN})


def last(s: Stack, topic: str) -> bytes:
    """The latest payload the listener saw on ``topic``."""
    return s.listener.on(topic)[-1].payload


async def disarm(s: Stack) -> int:
    mark, result = await s.command(f"{H}/area-1/command/set", DISARM)
    assert result["status"] == "ok", result
    return mark


@pytest.mark.parametrize("alarm_fields", ["list", "bool"])
async def test_alarm_and_memory_without_alarm_state(stack: StackFactory, alarm_fields: str) -> None:
    config = sim_config()
    behaviour = dataclasses.replace(
        config.behaviour, alarm_fields=alarm_fields, send_alarm_state=False
    )
    bridge = "homie_versions = [5, 4]"
    async with stack(
        config=dataclasses.replace(config, behaviour=behaviour), bridge_config=bridge
    ) as s:
        listed = alarm_fields == "list"
        tree = await retained_tree(s.broker.port)
        assert (tree[f"{H}/area-1/alarm-memory"], tree[f"{H4}/area-1/alarm-memory"]) == (
            b"false",
            b"false",
        )
        assert (f"{H}/area-1/alarm-memory-types" in tree) is listed
        components = json.loads(tree[HASS_CONFIG])["components"]
        assert hass_errors(json.loads(tree[HASS_CONFIG])) == []
        panel, memory = components["area-1"], components["area-1-alarm-memory"]
        assert (memory["platform"], memory["state_topic"]) == (
            "binary_sensor",
            f"{H}/area-1/alarm-memory",
        )
        assert ("json_attributes_topic" in memory) is listed
        # HA's alarm panel reads the state topic's payload as its state, untemplated.
        assert panel["platform"] == "alarm_control_panel" and "value_template" not in panel

        mark = s.listener.mark()
        s.sim.trigger_alarm(1)
        await s.value(panel["state_topic"], b"triggered", mark)
        await s.value(f"{H}/area-1/alarm", b"true", mark)
        await s.value(memory["state_topic"], b"true", mark)
        await s.value(f"{H4}/area-1/alarm-memory", b"true", mark)
        if listed:
            await s.value(f"{H}/area-1/alarm-type", b"BURGLARY", mark)
            await s.value(f"{H}/area-1/alarm-memory-types", b'["BURGLARY"]', mark)

        mark = await disarm(s)  # ends the alarm, the panel keeps its memory
        await s.value(f"{H}/area-1/state", b"disarmed", mark)
        await s.value(f"{H}/area-1/alarm", b"false", mark)
        assert last(s, f"{H}/area-1/alarm-memory") == b"true"
        if listed:
            assert last(s, f"{H}/area-1/alarm-memory-types") == b'["BURGLARY"]'

        mark = await disarm(s)  # a disarm of a quiet area acknowledges the memory
        await s.value(f"{H}/area-1/alarm-memory", b"false", mark)
        await s.value(f"{H4}/area-1/alarm-memory", b"false", mark)
        if listed:
            await s.value(f"{H}/area-1/alarm-memory-types", b"[]", mark)
        assert last(s, f"{H}/area-1/state") == b"disarmed"
