"""The engine against the simulator's optional panel behaviours (ADR-0205..0207): new log
entries announced by a ``log.get_index`` broadcast, alarm fields as booleans, and a
non-dimmable light that refuses a dimming level."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from e27bridge.panel.commands import ArmArea, Outcome, SetLight
from e27bridge.panel.events import PanelEvent
from e27bridge.panel.state import ArmMode, ConnectionState
from e27bridge.simulator.runner import Simulator

from .conftest import linked_owner, running, sim_config

Factory = Callable[..., AbstractAsyncContextManager[Simulator]]


async def test_log_announcements_and_boolean_alarm_fields_are_handled(simulator: Factory) -> None:
    config = sim_config(log_announce="get_index", alarm_fields="bool")
    async with simulator(config) as sim, running(await linked_owner(sim)) as owner:
        pin = sim.config.inventory.users[0].pin
        sub = owner.subscribe()
        assert (await owner.submit(ArmArea(1, ArmMode.ARMED_STAY, pin))).ok
        texts: list[str] = []
        async with asyncio.timeout(5):
            while not any("by user" in t for t in texts):
                event = await sub.get()
                if isinstance(event, PanelEvent) and event.type == "log":
                    texts.append(event.data["text"])
        sim.trigger_alarm(1)
        async with asyncio.timeout(5):
            while not owner.snapshot.areas[1].alarm_active:
                await sub.get()
        assert (await owner.submit(ArmArea(1, ArmMode.DISARMED, pin))).ok
        async with asyncio.timeout(5):
            while owner.snapshot.areas[1].alarm_active:
                await sub.get()
        assert owner.snapshot.connection is ConnectionState.READY


async def test_a_dimming_level_for_a_switch_is_rejected(simulator: Factory) -> None:
    async with simulator(sim_config("large")) as sim, running(await linked_owner(sim)) as owner:
        switch = next(light.id for light in sim.config.inventory.lights if not light.dimmable)
        result = await owner.submit(SetLight(switch, 40))
        assert result.outcome is Outcome.REJECTED
        assert (await owner.submit(SetLight(switch, 99))).ok
