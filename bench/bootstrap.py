"""Bootstrap: connect -> ready, time and requests, engine against ``elke27`` in the same run.

Both clients read the same simulated panel one after the other under the same pacing
floor (50 ms, the reference client's value; 0 in ``--quick``); requests are counted by
the panel. The engine starts cold (no stored inventory), then warm: a restart that finds
the inventory the cold start stored (ADR-0014). Also measured: the engine's snapshot
memory (tracemalloc during the cold bootstrap), and on the large profile a reconnect after
a 5 s panel restart. When ``elke27`` does not become ready its figures are a lower bound
and no ratio against it is given (``null``, with a note).
"""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc
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
    before = (await sims.stats())["requests_total"]
    if memory:
        tracemalloc.start()
    start = time.monotonic()
    await owner.start()
    try:
        await owner.wait_ready(READY_TIMEOUT)
        took = time.monotonic() - start
        used = tracemalloc.get_traced_memory()[0] if memory else None
        tracemalloc.stop()
        result: dict[str, Any] = {
            "time_s": round(took, 3),
            "requests": (await sims.stats())["requests_total"] - before,
        }
        if used is not None:
            result["memory_mib"] = round(used / 2**20, 2)
        if reconnect:
            before = (await sims.stats())["requests_total"]
            await sims.controls[0].call("restart", down_for=DROP, wait=True)
            back = time.monotonic()
            await owner.wait_state(ConnectionState.READY, READY_TIMEOUT)
            result["reconnect_after_drop_s"] = round(time.monotonic() - back, 3)
            result["reconnect_requests"] = (await sims.stats())["requests_total"] - before
        return result
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        await owner.stop()


async def _elke27(
    sims: SimHost, panel: PanelInfo, floor: float, timeout: float = READY_TIMEOUT
) -> dict[str, Any]:
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
    before = (await sims.stats())["requests_total"]
    start = time.monotonic()
    await client.async_connect(panel.host, panel.port, keys)
    try:
        ready = await client.wait_ready(timeout)
        took = time.monotonic() - start
        requests = (await sims.stats())["requests_total"] - before
    finally:
        await client.async_disconnect()
    return {"time_s": round(took, 3), "requests": requests, "ready": bool(ready)}


def _ratio(ours: float, theirs: dict[str, Any], key: str) -> float | None:
    """Ours over elke27's; None when elke27 never became ready (its figures are a floor)."""
    return round(ours / theirs[key], 3) if theirs["ready"] and theirs[key] else None


async def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    logging.getLogger("elke27_lib").setLevel(logging.CRITICAL)
    profiles = ("small",) if quick else ("small", "large", "max")
    floor = 0.0 if quick else 0.05
    rows: list[dict[str, Any]] = []
    for profile in profiles:
        async with simhost(profile) as sims:
            panel = sims.panels[0]
            state_dir = workdir / f"bootstrap-{profile}"
            engine, warm = await _engine(sims, panel, floor, profile == "large", state_dir)
            await asyncio.sleep(0.2)
            # elke27 can stall mid-bootstrap (timeouts, issue 14): give it five times the
            # engine's time (at least a minute), then report it as not ready.
            limit = max(60.0, 5 * engine["time_s"])
            reference = await _elke27(sims, panel, floor, limit)
            violations = await sims.violations()
        rows.append(
            {
                "profile": profile,
                "floor_ms": floor * 1000,
                "engine": engine,
                "warm": warm,
                "elke27": reference,
                "time_ratio_vs_elke27": _ratio(engine["time_s"], reference, "time_s"),
                "requests_ratio_vs_elke27": _ratio(engine["requests"], reference, "requests"),
                "warm_requests_ratio_vs_elke27": _ratio(warm["requests"], reference, "requests"),
                "note": None
                if reference["ready"]
                else "elke27 not ready: its figures are a lower bound, no ratio",
                "time_over_floor_budget": (
                    round(engine["time_s"] / (engine["requests"] * floor), 3) if floor else None
                ),
                "in_flight_violations": violations,
            }
        )
    return rows
