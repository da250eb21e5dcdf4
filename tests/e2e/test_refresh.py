"""The bridge request ``refresh`` through `e27bridge run`: a node, a domain or the whole
panel is re-read through the queue (counted on the simulator) and what changed is
published; the answer has the shape of a command result."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .conftest import PANEL, H, Stack, StackFactory

BASE = "e27bridge/bridge"
Counts = Counter[tuple[str, str | None, int | None]]


def reads(s: Stack) -> Counts:
    """What the panel was asked, keepalives aside."""
    counts = s.sim.panel.request_counts
    return Counter({k: n for k, n in counts.items() if k[1] != "r_u_alive"})


async def refresh(s: Stack, **body: Any) -> dict[str, Any]:
    mark = s.listener.mark()
    await s.send(f"{BASE}/request/refresh", json.dumps({"panel": PANEL, **body}))
    reply = await s.listener.wait_topic(f"{BASE}/response/refresh", start=mark, timeout=8)
    return reply.json()  # type: ignore[no-any-return]


async def test_refresh_of_one_zone_reads_only_that_zone_and_publishes_the_change(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True) as s:
        mark = s.listener.mark()
        # The zone opens but the panel's broadcast is lost: the bridge cannot know.
        s.sim.panel.set_zone(3, "open", s.sim.now())
        s.sim.panel.take_broadcasts()
        before = reads(s)
        reply = await refresh(s, node="zone-3", transaction="r-1")
        assert reply == {
            "status": "ok",
            "data": {"panel": PANEL, "node": "zone-3", "reads": 1},
            "error": None,
            "transaction": "r-1",
            "topic": "e27bridge/bridge/request/refresh",
        }
        await s.value(f"{H}/zone-3/open", b"true", mark)
        assert reads(s) - before == Counter({("zone", "get_status", 3): 1})

        before = reads(s)
        reply = await refresh(s, domain="output")
        assert reply["status"] == "ok" and reply["data"]["reads"] == 1
        assert sum((reads(s) - before).values()) == 1
        assert all(k[0] == "output" for k in reads(s) - before)

        reply = await refresh(s, node="zone-99", transaction=3)
        assert reply == {
            "status": "invalid",
            "data": {},
            "error": {
                "code": None,
                "reason": "unknown zone 99",
                "message": "The command is not valid (unknown zone 99).",
            },
            "transaction": 3,
            "topic": "e27bridge/bridge/request/refresh",
        }
