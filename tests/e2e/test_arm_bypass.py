"""Arm with automatic bypass through `e27bridge run` (ADR-0012): one `/set` bypasses the
open zones and arms, and one result lists them; a refused arm restores exactly the bypasses
it made (counted on the simulator)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

from .conftest import HASS_CONFIG, PIN, H, Stack, StackFactory, sim_config

COMMAND = f"{H}/area-1/command/set"


def writes(s: Stack) -> Counter[tuple[str, str | None, int | None]]:
    counts = s.sim.panel.request_counts
    return Counter({k: n for k, n in counts.items() if k[1] in ("set_status", "set_arm_state")})


def arm(transaction: str) -> str:
    body = {"action": "arm_away", "code": str(PIN), "bypass_open": True}
    return json.dumps({**body, "transaction": transaction})


async def open_zones(s: Stack, *zones: int) -> None:
    mark = s.listener.mark()
    for zone in zones:
        s.sim.set_zone(zone, "open")
    for zone in zones:
        await s.value(f"{H}/zone-{zone}/open", b"true", mark)


async def test_open_zones_are_bypassed_and_the_area_arms(stack: StackFactory) -> None:
    async with stack(subprocess=True, panel_config="arm_bypass_open = true") as s:
        template = json.loads(s.listener.on(HASS_CONFIG)[-1].payload)["components"]["area-1"]
        assert '"bypass_open":true' in template["command_template"]  # HA's arm buttons
        await open_zones(s, 4, 5)
        before = writes(s)
        mark, result = await s.command(COMMAND, arm("ab-1"))
        assert result == {
            "transaction": "ab-1",
            "topic": COMMAND,
            "status": "ok",
            "error": None,
            "data": {"bypassed": [4, 5], "refused": []},
        }
        await s.value(f"{H}/zone-4/bypassed", b"true", mark)
        await s.value(f"{H}/zone-5/bypassed", b"true", mark)
        await s.value(f"{H}/area-1/state", b"armed_away", mark)
        assert writes(s) - before == Counter(
            {("zone", "set_status", 4): 1, ("zone", "set_status", 5): 1}
        ) + Counter({("area", "set_arm_state", 1): 1})
        assert len(s.responses(mark)) == 1


async def test_a_refused_arm_restores_exactly_the_bypasses_made(stack: StackFactory) -> None:
    config = sim_config()
    zones = tuple(
        dataclasses.replace(z, bypassable=False) if z.id == 6 else z for z in config.inventory.zones
    )
    config = dataclasses.replace(
        config, inventory=dataclasses.replace(config.inventory, zones=zones)
    )
    async with stack(subprocess=True, config=config) as s:
        bypass = json.dumps({"action": "bypass", "code": str(PIN)})
        _, result = await s.command(f"{H}/zone-7/command/set", bypass)  # somebody else's
        assert result["status"] == "ok"
        await open_zones(s, 4, 6, 7)  # 6 cannot be bypassed: the panel refuses to arm
        before = writes(s)
        mark, result = await s.command(COMMAND, arm("ab-2"))
        assert result["status"] == "rejected" and result["transaction"] == "ab-2"
        assert result["data"] == {"bypassed": [], "restored": [4], "refused": [6]}
        await s.value(f"{H}/zone-4/bypassed", b"true", mark)
        await s.value(f"{H}/zone-4/bypassed", b"false", mark)
        assert writes(s) - before == Counter(
            {("zone", "set_status", 4): 2, ("zone", "set_status", 6): 1}
        ) + Counter({("area", "set_arm_state", 1): 1})
        states = s.sim.panel.zones.states
        assert states[7].bypassed and not states[4].bypassed and not states[6].bypassed
        assert s.sim.panel.areas.states[1].arm_state == "DISARMED"
        assert len(s.responses(mark)) == 1
