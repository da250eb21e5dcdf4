"""What every reliability scenario asserts, in one place: exactly one result per command,
each write executed once by the panel, Homie converged to the panel, back to ``ready``
within a stated bound."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from e2e.conftest import RESPONSE, H, Stack
from e2e.test_read_only import writes
from mqtt.capture import Listener
from waiting import wait_until

READY_BOUND = 20.0  # s: a panel that is reachable again is ready within this


def results(listener: Listener, start: int, topic: str) -> list[Any]:
    """Every result published after ``start`` for a ``/set`` on ``topic``."""
    return [
        m.json()
        for m in listener.messages[start:]
        if m.topic == RESPONSE and m.json().get("topic") == topic
    ]


async def one_result_each(s: Stack, start: int, topics: list[str]) -> list[dict[str, Any]]:
    """Waits for a later marker command's result, then asserts one result per ``topic``
    (the marker proves the bridge has answered everything sent before it)."""
    mark = s.listener.mark()
    marker = f"{H}/output-2/on/set"
    await s.send(marker, "false")
    await s.listener.wait_for(
        lambda m: m.topic == RESPONSE and m.json().get("topic") == marker, timeout=15, start=mark
    )
    found = [results(s.listener, start, t) for t in topics]
    assert [len(f) for f in found] == [1] * len(topics), found
    return [f[0] for f in found]


def executed(s: Stack, before: Counter[Any]) -> Counter[Any]:
    """Writes the panel executed since ``before`` (the marker's output-2 left out)."""
    now = writes(s)
    return Counter({k: n - before[k] for k, n in now.items() if n > before[k] and k[2] != 2})


def homie_value(listener: Listener, topic: str) -> bytes | None:
    seen = listener.on(topic)
    return seen[-1].payload if seen else None


async def ready_again(s: Stack, node: str = H, bound: float = READY_BOUND) -> None:
    """The device's latest ``$state`` is ``ready`` within ``bound`` seconds."""
    await wait_until(
        lambda: homie_value(s.listener, f"{node}/$state") == b"ready",
        f"{node} ready",
        timeout=bound,
    )


def body(**fields: object) -> str:
    return json.dumps(fields)
