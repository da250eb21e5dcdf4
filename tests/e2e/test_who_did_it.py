"""Who did it, at once: after an arm, disarm, bypass or alarm, from a keypad or from MQTT,
the panel's log entry naming the user (or the zone) is on the event topic within 2 s of
panel time, whether or not the panel announces new entries (ADR-0206), and without any
unrelated activity to carry it. The panel runs at time scale 1, so its 60 s exit delay is
real: an entry that waited for the next arm-state change would come a minute late."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from e27bridge.simulator.config import SimulatorConfig

from .conftest import PANEL, PIN, H, Stack, StackFactory, sim_config

EVENT = f"e27bridge/{PANEL}/event"
AT_ONCE = 2.0  # seconds of panel time (time scale 1)


def real_time_panel(log_announce: str) -> SimulatorConfig:
    config = sim_config()
    return dataclasses.replace(
        config,
        timings=dataclasses.replace(config.timings, time_scale=1.0),
        behaviour=dataclasses.replace(config.behaviour, log_announce=log_announce),
    )


async def logged(s: Stack, start: int, pattern: str) -> dict[str, Any]:
    """The log event whose text matches ``pattern``, within ``AT_ONCE`` s of ``start``."""
    found = await s.listener.wait_for(
        lambda m: (
            m.topic == EVENT
            and m.json()["type"] == "log"
            and re.search(pattern, m.json()["text"]) is not None
        ),
        timeout=AT_ONCE,
        start=start,
    )
    event: dict[str, Any] = found.json()
    return event


def bypassable_zone(config: SimulatorConfig) -> int:
    return next(
        z.id
        for z in config.inventory.zones
        if z.area_id == 1 and z.bypassable and z.definition != "UNDEFINED"
    )


@pytest.mark.parametrize("log_announce", ["none", "get_index"])
async def test_the_log_entry_naming_the_user_follows_at_once(
    stack: StackFactory, log_announce: str
) -> None:
    config = real_time_panel(log_announce)
    zone = bypassable_zone(config)
    async with stack(subprocess=True, config=config) as s:
        mark = s.listener.mark()
        assert s.sim.keypad("arm_away", 1, PIN) == 0  # exit delay: 60 s of real time
        event = await logged(s, mark, r"^Area 1 armed away by user 1$")
        assert event["user"] == 1 and event["event_type"] == "log"

        mark = s.listener.mark()
        assert s.sim.keypad("disarm", 1, PIN) == 0  # during the exit delay
        await logged(s, mark, r"^Area 1 disarmed by user 1$")

        mark = s.listener.mark()
        assert s.sim.keypad("bypass", zone, PIN) == 0
        event = await logged(s, mark, rf"^Zone {zone} bypassed by user 1$")
        assert event["user"] == 1

        body = json.dumps({"action": "arm_home", "code": PIN})
        mark, result = await s.command(f"{H}/area-1/command/set", body)
        assert result["status"] == "ok"
        await logged(s, mark, r"^Area 1 armed stay by user 1$")

        body = json.dumps({"action": "disarm", "code": PIN})
        mark, result = await s.command(f"{H}/area-1/command/set", body)
        assert result["status"] == "ok"
        await logged(s, mark, r"^Area 1 disarmed by user 1$")

        # A lock and a barrier make no arm, alarm or bypass event: their entries come anyway.
        locked = s.listener.on(f"{H}/lock-1/locked")[-1].payload == b"true"
        target = "false" if locked else "true"
        mark, result = await s.command(f"{H}/lock-1/locked/set", target)
        assert result["status"] == "ok"
        await logged(s, mark, rf"^Lock 1 {'unlocked' if locked else 'locked'}$")
        mark, result = await s.command(f"{H}/barrier-1/command/set", "open")
        assert result["status"] == "ok"
        await logged(s, mark, r"^Barrier 1 open$")

        mark = s.listener.mark()
        s.sim.trigger_alarm(1, zone)
        event = await logged(s, mark, rf"^Area 1 \w+ alarm.*zone {zone}$")
        assert "user" not in event
