"""Bootstrap: connect -> ready, time and requests, engine against ``elke27`` in the same run.

Both clients read the same simulated panel one after the other under the same pacing
floor (50 ms, the reference client's value; 0 in ``--quick``); requests are counted by
the panel. The engine starts cold (no stored inventory), then warm: a restart that finds
the inventory the cold start stored (ADR-0014). Also measured: the engine's snapshot
memory (tracemalloc during the cold bootstrap), and on the large profile a reconnect after
a 5 s panel restart.

Requests are compared over the whole bootstrap, not up to "ready": ``elke27`` reports
ready after areas, zones and outputs and only then reads lights, barriers and users,
while the engine is ready once it has read everything it publishes. So each client's
``requests`` counts until the panel has seen none for ``SETTLE`` seconds (longer than
``elke27``'s 5 s request timeout, so a stall is not taken for the end);
``requests_at_ready`` and ``by_domain`` are beside it. When ``elke27`` is not ready at the
floor (its paced sender can stall), it is run once more unpaced (``elke27_unpaced``) and
its requests are compared from that run; its time is then no result (``null``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from elke27_lib import ClientConfig, Elke27Client

from bench.rig import PanelInfo, SimHost, simhost
from bench.simhost import ACCESS_CODE, PASSPHRASE
from e27bridge.panel.inventory import InventoryFile
from e27bridge.panel.linking import link
from e27bridge.panel.owner import PanelOwner, PanelSettings
from e27bridge.panel.queue import QueueSettings
from e27bridge.panel.state import ConnectionState
from e27bridge.protocol.identity import ClientIdentity

ELKE27_IDENTITY = {
    "mn": "0222",
    "sn": "0E1C2E27BE4C",
    "fwver": "1.0",
    "hwver": "1.0",
    "osver": "1.0",
}
READY_TIMEOUT = 600.0
DROP = 5.0
SETTLE = 6.0


async def _engine(
    sims: SimHost, panel: PanelInfo, floor: float, reconnect: bool, state_dir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cold start (no stored inventory), then a warm one (a restart with it)."""
    identity = ClientIdentity(sn="BENCHENGINE1")
    keys = await link(
        panel.host, panel.port, identity, access_code=ACCESS_CODE, passphrase=PASSPHRASE
    )
    settings = PanelSettings(
        panel_id="bench",
        mac=panel.mac,
        host=panel.host,
        port=panel.port,
        discovery_port=panel.discovery_port,
        queue=QueueSettings(min_interval=floor, depth=1000),
    )

    def owner() -> PanelOwner:
        return PanelOwner(settings, identity, keys, inventory=InventoryFile(state_dir, panel.mac))

    cold = await _start(sims, owner(), memory=True, reconnect=reconnect)
    await asyncio.sleep(0.2)
    warm = await _start(sims, owner(), memory=False, reconnect=False)
    return cold, warm


async def _start(
    sims: SimHost, owner: PanelOwner, *, memory: bool, reconnect: bool
) -> dict[str, Any]:
    before = await _counts(sims)
    if memory:
        tracemalloc.start()
    start = time.monotonic()
    await owner.start()
    try:
        await owner.wait_ready(READY_TIMEOUT)
        took = time.monotonic() - start
        used = tracemalloc.get_traced_memory()[0] if memory else None
        tracemalloc.stop()
        at_ready = (await _counts(sims)).total() - before.total()
        result: dict[str, Any] = {"time_s": round(took, 3), "requests_at_ready": at_ready}
        result |= await _settled(sims, before)
        if used is not None:
            result["memory_mib"] = round(used / 2**20, 2)
        if reconnect:
            since = (await _counts(sims)).total()
            await sims.controls[0].call("restart", down_for=DROP, wait=True)
            back = time.monotonic()
            await owner.wait_state(ConnectionState.READY, READY_TIMEOUT)
            result["reconnect_after_drop_s"] = round(time.monotonic() - back, 3)
            result["reconnect_requests"] = (await _counts(sims)).total() - since
        return result
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        await owner.stop()


async def _counts(sims: SimHost) -> Counter[str]:
    """Requests the panel has handled so far, per domain."""
    return Counter((await sims.stats())["domain_counts"])


async def _settled(sims: SimHost, before: Counter[str]) -> dict[str, Any]:
    """The whole bootstrap's requests: those since ``before`` once ``SETTLE`` s pass without one."""
    last, since = await _counts(sims), time.monotonic()
    while time.monotonic() - since < SETTLE:
        await asyncio.sleep(0.25)
        now = await _counts(sims)
        if now != last:
            last, since = now, time.monotonic()
    whole = last - before
    return {"requests": whole.total(), "by_domain": dict(sorted(whole.items()))}


async def _elke27(sims: SimHost, panel: PanelInfo, floor: float, limit: float) -> dict[str, Any]:
    client = Elke27Client(
        ClientConfig(request_timeout_s=5.0, outbound_min_interval_s=floor, event_queue_maxlen=0)
    )
    keys = await client.async_link(
        panel.host,
        panel.port,
        access_code=ACCESS_CODE,
        passphrase=PASSPHRASE,
        client_identity=ELKE27_IDENTITY,
        timeout_s=10,
    )
    before = await _counts(sims)
    start = time.monotonic()
    await client.async_connect(panel.host, panel.port, keys)
    try:
        ready = bool(await client.wait_ready(limit))
        took = time.monotonic() - start
        at_ready = (await _counts(sims)).total() - before.total()
        result = {"ready": ready, "time_s": round(took, 3), "requests_at_ready": at_ready}
        if ready:
            result |= await _settled(sims, before)
    finally:
        await client.async_disconnect()
    return result


def _ratio(ours: float, theirs: float | None) -> float | None:
    return round(ours / theirs, 3) if theirs else None


async def _references(sims: SimHost, floor: float, limit: float) -> dict[str, Any]:
    """elke27 at the floor; unpaced as well when it does not become ready there."""
    panel = sims.panels[0]
    out = {"elke27": await _elke27(sims, panel, floor, limit)}
    if not out["elke27"]["ready"] and floor:
        await asyncio.sleep(0.2)
        out["elke27_unpaced"] = await _elke27(sims, panel, 0.0, limit)
    return out


def _comparison(
    engine: dict[str, Any], warm: dict[str, Any], refs: dict[str, Any]
) -> dict[str, Any]:
    paced = refs["elke27"]
    counted = paced if paced["ready"] else refs.get("elke27_unpaced", paced)
    theirs = counted.get("requests")
    note = None
    if not paced["ready"]:
        note = "elke27 not ready at the floor: no time ratio; " + (
            "requests from its unpaced run" if theirs else "not ready unpaced either: no ratio"
        )
    return {
        "time_ratio_vs_elke27": _ratio(
            engine["time_s"], paced["time_s"] if paced["ready"] else None
        ),
        "requests_ratio_vs_elke27": _ratio(engine["requests"], theirs),
        "warm_requests_ratio_vs_elke27": _ratio(warm["requests"], theirs),
        "note": note,
    }


async def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    logging.getLogger("elke27_lib").setLevel(logging.CRITICAL)
    profiles = ("small",) if quick else ("small", "large", "max")
    floor = 0.0 if quick else 0.05
    rows: list[dict[str, Any]] = []
    for profile in profiles:
        async with simhost(profile) as sims:
            state_dir = workdir / f"bootstrap-{profile}"
            engine, warm = await _engine(sims, sims.panels[0], floor, profile == "large", state_dir)
            await asyncio.sleep(0.2)
            # elke27 can stall mid-bootstrap (timeouts, issue 14): give it five times the
            # engine's time (at least a minute), then report it as not ready.
            refs = await _references(sims, floor, max(60.0, 5 * engine["time_s"]))
            violations = await sims.violations()
        budget = engine["requests_at_ready"] * floor
        rows.append(
            {"profile": profile, "floor_ms": floor * 1000, "engine": engine, "warm": warm}
            | refs
            | _comparison(engine, warm, refs)
            | {
                "time_over_floor_budget": round(engine["time_s"] / budget, 3) if budget else None,
                "in_flight_violations": violations,
            }
        )
    return rows
