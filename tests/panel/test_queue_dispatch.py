"""When the queue sends: at once in the step of the reply that frees its slot, in priority
order, never two in flight, never closer than ``min_interval`` and never later than needed.

The queue's only seam to the socket is its sender (``Session.send``); here the sender
records the frames, and the replies are real decoded panel messages. The engine tests and
the reliability suite cover the same rules end to end against the simulator.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from e27bridge.panel.commands import Outcome
from e27bridge.panel.queue import Priority, QueueSettings, RequestQueue
from e27bridge.protocol import requests
from e27bridge.protocol.messages import decode_message
from e27bridge.protocol.requests import RequestSpec

FAST = QueueSettings(min_interval=0.0, request_timeout=1.0)


class Wire:
    """Records what the queue writes; ``reply`` answers the one in flight."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, float]] = []

    def __call__(self, seq: int, spec: RequestSpec) -> None:
        self.sent.append((seq, spec.route, asyncio.get_running_loop().time()))

    def reply(self, queue: RequestQueue, seq: int | None = None) -> bool:
        seq = self.sent[-1][0] if seq is None else seq
        payload = json.dumps({"seq": seq, "output": {"set_status": {"output_id": 1}}})
        return queue.on_message(decode_message(payload.encode()))


def output(n: int) -> RequestSpec:
    return requests.set_output(n, True)


async def test_the_next_request_leaves_before_the_reply_that_freed_the_slot_returns() -> None:
    queue = RequestQueue(FAST)
    wire = Wire()
    queue.attach(wire)
    first = queue.enqueue(output(1))
    second = queue.enqueue(output(2))
    assert len(wire.sent) == 1  # one in flight
    assert wire.reply(queue)
    # No await in between: the bridge's work on the first reply comes after this send.
    assert len(wire.sent) == 2 and not second.done()
    assert first.done() and first.result().ok
    wire.reply(queue)
    assert (await second).ok
    await queue.close()


async def test_user_commands_overtake_background_and_high_overtakes_both() -> None:
    queue = RequestQueue(FAST)
    wire = Wire()
    queue.attach(wire)
    queue.enqueue(output(1), Priority.BACKGROUND)  # in flight
    queue.enqueue(output(2), Priority.BACKGROUND)
    queue.enqueue(output(3), Priority.NORMAL)
    queue.enqueue(requests.keepalive(), Priority.HIGH)
    for _ in range(4):
        wire.reply(queue)
    routes = [route for _, route, _ in wire.sent]
    assert routes[1] == requests.keepalive().route
    assert routes[2:] == [output(3).route, output(2).route]
    await queue.close()


async def test_min_interval_is_a_least_gap_between_frames_not_a_wait_on_an_idle_link() -> None:
    gap = 0.2
    queue = RequestQueue(QueueSettings(min_interval=gap, request_timeout=2.0))
    wire = Wire()
    queue.attach(wire)
    queue.enqueue(output(1))
    assert len(wire.sent) == 1  # the link was idle: at once
    second = queue.enqueue(output(2))
    wire.reply(queue)
    assert len(wire.sent) == 1  # answered, but the gap has not passed
    async with asyncio.timeout(5):
        while len(wire.sent) < 2:
            await asyncio.sleep(0.01)
    assert wire.sent[1][2] - wire.sent[0][2] >= gap
    wire.reply(queue)
    await second
    loop = asyncio.get_running_loop()
    idle_until = wire.sent[1][2] + gap
    while loop.time() < idle_until:  # idle for longer than the gap
        await asyncio.sleep(idle_until - loop.time())
    queue.enqueue(output(3))
    assert len(wire.sent) == 3  # no wait added on a link idle that long
    await queue.close()


async def test_a_late_reply_after_the_timeout_releases_nothing() -> None:
    queue = RequestQueue(QueueSettings(min_interval=0.0, request_timeout=0.1))
    wire = Wire()
    queue.attach(wire)
    write = queue.enqueue(output(1))
    assert (await asyncio.wait_for(write, 5)).outcome is Outcome.UNKNOWN
    late_seq = wire.sent[0][0]
    queue.enqueue(output(2))
    queue.enqueue(output(3))
    assert len(wire.sent) == 2
    assert not wire.reply(queue, late_seq)  # matches nothing
    assert len(wire.sent) == 2  # the second is still the one in flight
    await queue.close()


@pytest.mark.parametrize("end", ["reply", "loss"])
async def test_each_end_releases_the_slot_exactly_once(end: str) -> None:
    queue = RequestQueue(FAST)
    wire = Wire()
    queue.attach(wire)
    queue.enqueue(requests.keepalive())
    queue.enqueue(output(2))
    if end == "reply":
        wire.reply(queue)
    else:
        queue.detach()
        queue.attach(wire)
    assert len(wire.sent) == 2
    first_seq = wire.sent[0][0]
    assert not wire.reply(queue, first_seq)  # a second end of the first: nothing
    assert len(wire.sent) == 2
    await queue.close()
