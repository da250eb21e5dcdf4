"""One request per command when the panel reports the new state itself (ADR-0010)."""

from __future__ import annotations

import dataclasses

from e27bridge.panel.commands import SetLight, SetOutput
from e27bridge.panel.queue import Priority
from e27bridge.protocol import requests
from waiting import wait_until

from .conftest import linked_owner, record_requests, running, sim_config


async def test_a_write_confirmed_by_the_panels_broadcast_is_not_read_back(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        seen = record_requests(sim)
        output = min(owner.snapshot.outputs)
        result = await owner.submit(SetOutput(output, on=True))
        assert result.ok
        await wait_until(lambda: owner.snapshot.outputs[output].on is True, "the broadcast state")
        await wait_until(lambda: owner.confirming == 0, "the read-back decision")
        await owner.queue.submit(requests.get_status("area", 1), Priority.NORMAL)  # a marker
        assert seen == [("output", "set_status"), ("area", "get_status")]


async def test_a_write_nothing_confirms_is_read_back(simulator) -> None:  # type: ignore[no-untyped-def]
    config = sim_config()
    # Z-Wave lights report their new state only after 60 s (3 s at time scale 20).
    timings = dataclasses.replace(config.timings, zwave_report_delay=60.0)
    async with (
        simulator(dataclasses.replace(config, timings=timings)) as sim,
        running(await linked_owner(sim)) as owner,
    ):
        seen = record_requests(sim)
        light = min(owner.snapshot.lights)
        result = await owner.submit(SetLight(light, 40))
        assert result.ok
        await wait_until(lambda: ("light", "get_status") in seen, "the read-back", timeout=5)
        assert seen[:2] == [("light", "set_status"), ("light", "get_status")]
