"""The broker goes away for 20 s while commands are queued at a slow panel (``e27bridge run``).

Promised: every queued command is executed once and its result reaches the requester
(persistent session) once, after the broker is back; a zone that changed during the outage
shows its new state; the panel is ``ready`` on MQTT within ``READY_BOUND`` of the broker's
return. (A single result due during an outage: ``test_result_outage.py``; a broker restart
republishing everything: ``tests/e2e/test_lifecycle.py``.)
"""

from __future__ import annotations

import asyncio
import json

from e2e.conftest import PIN, RESPONSE, H, StackFactory
from e2e.test_read_only import writes
from waiting import wait_until

from .checks import READY_BOUND, executed, homie_value, ready_again
from .test_result_outage import broker, requester, results

__all__ = ["broker"]  # the rig's broker, overridden: this one keeps sessions across a restart

OUTAGE = 20.0
COMMANDS = 6


async def test_commands_queued_through_a_20_s_broker_outage_get_one_result_each(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True, command_max_age=60.0) as s:
        async with requester(s.broker.port) as client:
            await client.subscribe(RESPONSE, qos=1)
        before = writes(s)
        s.sim.set_faults(response_delay=0.4)  # the queue is still busy when the broker goes
        requests = s.sim.stats.requests_total
        for n in range(COMMANDS):
            body = {"action": "disarm", "code": PIN, "transaction": f"queued-{n}"}
            await s.send(f"{H}/area-1/command/set", json.dumps(body))
        await wait_until(lambda: s.sim.stats.requests_total > requests, "the first command")
        await asyncio.to_thread(s.broker.stop)
        s.sim.set_zone(4, "open")
        await asyncio.sleep(OUTAGE)  # the outage itself
        s.sim.clear_faults()
        back = s.listener.mark()
        await asyncio.to_thread(s.broker.start)
        async with requester(s.broker.port) as client:
            found = await results(client, 6.0)
        assert sorted(r["transaction"] for r in found) == [f"queued-{n}" for n in range(COMMANDS)]
        assert {r["status"] for r in found} == {"ok"}, found
        assert executed(s, before).total() == COMMANDS, executed(s, before)
        await s.listener.wait_topic(f"{H}/zone-4/open", b"true", timeout=READY_BOUND, start=back)
        await ready_again(s)
        assert homie_value(s.listener, f"{H}/zone-4/open") == b"true"
        assert s.daemon.proc.returncode is None  # type: ignore[attr-defined]
