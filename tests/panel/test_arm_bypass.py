"""Arm with automatic bypass against the simulated panel (ADR-0012): open zones bypassed,
life-safety zones never, one unit on the queue, and a refused arm undoes exactly the
bypasses it made."""

from __future__ import annotations

import asyncio
import dataclasses

from e27bridge.panel.arm_bypass import open_zones as bypass_candidates
from e27bridge.panel.commands import ArmArea, BypassZone, Outcome, SetOutput
from e27bridge.panel.state import ArmMode, EntityKind
from mqtt.factories import snapshot
from waiting import wait_until

from .conftest import linked_owner, record_requests, running, sim_config

WRITES = ("set_status", "set_arm_state")


def pin(sim) -> int:  # type: ignore[no-untyped-def]
    return sim.config.inventory.users[0].pin  # type: ignore[no-any-return]


def writes(seen: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    return [s for s in seen if s[1] in WRITES]


async def open_zones(sim, owner, *zones: int) -> None:  # type: ignore[no-untyped-def]
    for zone in zones:
        sim.set_zone(zone, "open")
    await wait_until(lambda: all(owner.snapshot.zones[z].violated for z in zones), "zones open")


async def test_open_zones_are_bypassed_then_the_area_arms_as_one_unit(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        await open_zones(sim, owner, 4, 5)
        seen = record_requests(sim)
        arm = asyncio.create_task(owner.submit(ArmArea(1, ArmMode.ARMED_AWAY, pin(sim), True)))
        await wait_until(lambda: ("zone", "set_status") in seen, "the first bypass")
        other = await owner.submit(SetOutput(1, True))  # queued while the unit holds
        result = await arm
        assert result.ok and result.data == {"bypassed": [4, 5], "refused": []}
        assert other.ok
        assert writes(seen) == [
            ("zone", "set_status"),
            ("zone", "set_status"),
            ("area", "set_arm_state"),
            ("output", "set_status"),  # never between the unit's steps
        ]
        zones = sim.panel.zones.states
        assert zones[4].bypassed and zones[5].bypassed
        assert sim.stats.in_flight_violations == 0


async def test_a_refused_arm_restores_exactly_the_bypasses_it_made(simulator) -> None:  # type: ignore[no-untyped-def]
    config = sim_config()
    fixed = tuple(
        dataclasses.replace(z, bypassable=False) if z.id == 6 else z for z in config.inventory.zones
    )
    config = dataclasses.replace(
        config, inventory=dataclasses.replace(config.inventory, zones=fixed)
    )
    async with simulator(config) as sim, running(await linked_owner(sim)) as owner:
        code = pin(sim)
        assert (await owner.submit(BypassZone(7, True, code))).ok  # somebody else's bypass
        await open_zones(sim, owner, 4, 6, 7)
        await wait_until(lambda: owner.snapshot.zones[7].bypassed, "zone 7 bypassed")
        result = await owner.submit(ArmArea(1, ArmMode.ARMED_AWAY, code, True))
        assert result.outcome is Outcome.REJECTED
        assert result.data == {"bypassed": [], "restored": [4], "refused": [6]}
        zones = sim.panel.zones.states
        assert not zones[4].bypassed and zones[7].bypassed and not zones[6].bypassed
        assert sim.panel.areas.states[1].arm_state == "DISARMED"


def test_life_safety_and_bypassed_zones_are_never_candidates() -> None:
    snap = snapshot(zones=12)  # definitions cycle: perimeter, interior, FIRE, CO, WATER, ...
    zones = {n: dataclasses.replace(z, violated=True) for n, z in snap.zones.items()}
    zones[7] = dataclasses.replace(zones[7], bypassed=True)
    zones[2] = dataclasses.replace(zones[2], violated=False)
    snap = snap.with_entities(EntityKind.ZONE, zones)
    definitions = {n: z.definition for n, z in snap.zones.items()}
    assert definitions[3] == "FIRE" and definitions[4] == "CO"
    assert bypass_candidates(snap, 1) == [1, 5, 8, 11]  # not 2 (closed), 7 (bypassed)
    assert bypass_candidates(snap, 2) == []
