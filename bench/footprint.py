"""Footprint: the daemon's RSS and CPU share, idle and under zone activity.

Cases: one max panel, eight max panels, and N small panels in one process. "Under load"
is 100 zone changes/s spread over the panels. Pacing floor 0 so the bootstraps are quick.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.events import SETTLE, burglary_zones
from bench.rig import CpuMeter, SimHost, daemon, mosquitto, panel_id, rss_mib, simhost, wait_ready

LOAD_RATE = 100.0


async def _load(sims: SimHost, zones: list[int], seconds: float) -> None:
    state: dict[tuple[int, int], bool] = {}
    start = time.monotonic()
    sent = 0
    panels = len(sims.panels)
    per_panel = [0] * panels
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) * LOAD_RATE) + 1
        while sent < due:
            p = sent % panels
            zone = zones[(sent // panels) % len(zones)]
            value = not state.get((p, zone), False)
            state[(p, zone)] = value
            sims.controls[p].send_nowait(
                "set_zone", zone_id=zone, state="open" if value else "closed"
            )
            per_panel[p] += 1
            sent += 1
        await asyncio.sleep(0.01)
    for p, count in enumerate(per_panel):
        await sims.controls[p].drain(count)


async def _case(
    workdir: Path, name: str, profile: str, count: int, seconds: float
) -> dict[str, Any]:
    async with simhost(profile, count) as sims:
        with mosquitto(workdir) as broker:
            async with daemon(broker, sims.panels, min_interval=0.0, workdir=workdir) as bridge:
                ready = await wait_ready(
                    broker.port, [panel_id(i) for i in range(count)], 600, bridge
                )
                await asyncio.sleep(SETTLE)
                meter = CpuMeter(bridge.pid).start()
                await asyncio.sleep(seconds)
                _, idle = meter.stop()
                idle_rss = rss_mib(bridge.pid)
                meter = CpuMeter(bridge.pid).start()
                await _load(sims, burglary_zones(profile), seconds)
                _, busy = meter.stop()
                busy_rss = rss_mib(bridge.pid)
        violations = await sims.violations()
    return {
        "case": name,
        "panels": count,
        "profile": profile,
        "ready_s": round(ready, 2),
        "idle_cpu_share": round(idle, 4),
        "idle_rss_mib": round(idle_rss, 1),
        "load_cpu_share": round(busy, 3),
        "load_rss_mib": round(busy_rss, 1),
        "in_flight_violations": violations,
    }


async def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    seconds = 1.5 if quick else 5.0
    cases = (
        [("1 small", "small", 1), ("8 small", "small", 8)]
        if quick
        else [("1 max", "max", 1), ("8 max", "max", 8), ("64 small", "small", 64)]
    )
    return [await _case(workdir, name, profile, n, seconds) for name, profile, n in cases]
