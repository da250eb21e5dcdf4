"""The engine reads a panel that sends every paging field as a numeric string (protocol §12,
§17 item 16): the simulator's opt-in setting for all paged replies, at 100 %."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from e27bridge.simulator.runner import Simulator
from e27bridge.simulator.settings import PAGED_COMMANDS

from .conftest import linked_owner, running, sim_config


async def test_numeric_strings_in_every_paged_reply_still_give_the_full_inventory(
    simulator: Callable[..., AbstractAsyncContextManager[Simulator]],
) -> None:
    config = sim_config("large", numeric_string_blocks=1.0, numeric_string_commands=PAGED_COMMANDS)
    async with simulator(config) as sim:
        async with running(await linked_owner(sim)) as owner:
            snapshot = owner.snapshot
            inv = sim.config.inventory
            assert set(snapshot.areas) == {a.id for a in inv.areas}
            defined = {z.id for z in inv.zones if z.definition != "UNDEFINED"}
            assert defined <= set(snapshot.zones)
            assert set(snapshot.outputs) == {o.id for o in inv.outputs}
            assert set(snapshot.lights) == {light.id for light in inv.lights}
        assert sim.stats_snapshot()["domain_counts"]["zone"] > 0
