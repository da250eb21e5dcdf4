"""A write in flight when the panel's reply is slow, late or never comes (``e27bridge run``).

Promised: exactly one result per command (``ok`` when the reply comes within the request
timeout, ``unknown`` otherwise: the panel may have done it); the write is executed once,
never resent; a late reply changes nothing; Homie shows the panel's state afterwards; the
panel is ``ready`` again within ``READY_BOUND`` of the fault ending. The engine-level
versions (queue released, late reply inert, drop mid-write not resent) are in
``tests/panel/test_engine.py``.
"""

from __future__ import annotations

import pytest

from e2e.conftest import H, StackFactory
from e2e.test_read_only import writes

from .checks import READY_BOUND, executed, homie_value, one_result_each, ready_again

TOPIC = f"{H}/output-1/on/set"
FAULTS = {  # the daemon's request_timeout is 2 s in this rig
    "slow": ({"response_delay": 1.2}, "ok"),
    "late": ({"late_reply_probability": 1.0, "late_reply_delay": 3.0}, "unknown"),
    "dropped": ({"drop_reply_probability": 1.0}, "unknown"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_write_in_flight_gets_one_result_and_runs_once(
    stack: StackFactory, fault: str
) -> None:
    settings, status = FAULTS[fault]
    async with stack(subprocess=True) as s:
        before = writes(s)
        start = s.listener.mark()
        s.sim.set_faults(**settings)
        await s.send(TOPIC, "true")
        first = await s.listener.wait_for(
            lambda m: m.topic.endswith("/response") and m.json().get("topic") == TOPIC,
            timeout=15,
            start=start,
        )
        s.sim.clear_faults()
        assert first.json()["status"] == status, first.json()
        assert s.sim.panel.outputs.on[1] is True  # the panel did it, answered or not

        await s.listener.wait_topic(f"{H}/output-1/on", b"true", timeout=READY_BOUND, start=start)
        (result,) = await one_result_each(s, start, [TOPIC])
        assert result["status"] == status
        assert executed(s, before) == {("output", "set_status", 1): 1}, writes(s)
        await ready_again(s)
        assert homie_value(s.listener, f"{H}/output-1/on") == b"true"
