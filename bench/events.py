"""Events: zone changes on the panel -> Homie values on MQTT, at fixed rates.

The simulator's control channel toggles burglary zones (open/closed) at 10, 100 and 1,000
changes/s, round-robin; a subscriber timestamps every ``zone-N/open`` value. A change
counts as delivered when a value at least as new reaches MQTT: each received value
acknowledges the oldest outstanding change of that zone with that value and every older
one (so coalescing is allowed, and the matching is never optimistic). After the run every
zone's last published value must equal the last state set (``lost_final_states``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import aiomqtt

from bench.rig import (
    Control,
    CpuMeter,
    client,
    daemon,
    mosquitto,
    ms,
    panel_id,
    percentile,
    simhost,
    wait_ready,
)
from e27bridge.simulator.config import profile_config

TICK = 0.01
# After ready, the bridge keeps its own Homie tree subscribed for 5 s (ghost check,
# ADR-0150); the steady state starts after that.
SETTLE = 6.0
DRAIN_TIMEOUT = 60.0


def burglary_zones(profile: str) -> list[int]:
    """Zones that open and close without an alarm while disarmed."""
    return [
        z.id
        for z in profile_config(profile).inventory.zones
        if z.definition.startswith("BURG_") and z.definition != "BURG_24HR"
    ]


class Tracker:
    """Changes sent per zone and the values seen on MQTT; computes delivery latency."""

    def __init__(self) -> None:
        self.outstanding: dict[int, deque[tuple[float, bool]]] = {}
        self.final: dict[int, bool] = {}
        self.seen: dict[int, bool] = {}
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (sent at, latency)
        self.changes = 0
        self.last_seen_at = 0.0

    def sent(self, zone: int, value: bool, at: float) -> None:
        self.outstanding.setdefault(zone, deque()).append((at, value))
        self.final[zone] = value
        self.changes += 1

    def received(self, zone: int, value: bool, at: float) -> None:
        self.seen[zone] = value
        self.last_seen_at = at
        queue = self.outstanding.get(zone)
        if not queue or not any(v == value for _, v in queue):
            return
        while queue:
            sent_at, v = queue.popleft()
            self.latencies.append(at - sent_at)
            self.timeline.append((sent_at, at - sent_at))
            if v == value:
                break

    def lost(self) -> int:
        return sum(1 for zone, value in self.final.items() if self.seen.get(zone) != value)


async def _drive(
    control: Control, tracker: Tracker, zones: list[int], rate: float, seconds: float
) -> None:
    # Start from the state on MQTT: toggling a zone to the state it already has is no
    # change, and would be counted as one delivered a whole round later.
    state = {zone: tracker.seen.get(zone, False) for zone in zones}
    start = time.monotonic()
    index = 0
    sent = 0
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) * rate) + 1
        while sent < due:
            zone = zones[index % len(zones)]
            index += 1
            state[zone] = not state[zone]
            tracker.sent(zone, state[zone], time.monotonic())
            control.send_nowait("set_zone", zone_id=zone, state="open" if state[zone] else "closed")
            sent += 1
        await asyncio.sleep(TICK)
    await control.drain(sent)


async def _one_rate(
    port: int,
    pid: int,
    control: Control,
    zones: list[int],
    rate: float,
    seconds: float,
    others: dict[str, int] | None = None,
) -> dict[str, Any]:
    tracker = Tracker()
    async with client(port) as sub:
        await sub.subscribe(f"homie/5/{panel_id(0)}/+/open", qos=1)
        ready = asyncio.Event()

        async def listen() -> None:
            async for message in sub.messages:
                node = str(message.topic).split("/")[3]
                if not node.startswith("zone-"):
                    continue
                if message.retain:
                    tracker.seen[int(node[5:])] = message.payload == b"true"
                else:
                    tracker.received(int(node[5:]), message.payload == b"true", time.monotonic())
                    if not tracker.lost():
                        ready.set()

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.2)  # retained values delivered: the state before the run
        meter = CpuMeter(pid).start()
        other_meters = {name: CpuMeter(p).start() for name, p in (others or {}).items()}
        start = time.monotonic()
        await _drive(control, tracker, zones, rate, seconds)
        driven = time.monotonic() - start
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_TIMEOUT):
                while tracker.lost():
                    ready.clear()
                    await ready.wait()
        # CPU until the last change is out: work left over after the driving counts too.
        cpu_used, share = meter.stop()
        other_shares = {
            f"{name}_cpu_share": round(m.stop()[1], 3) for name, m in other_meters.items()
        }
        drain = max(0.0, tracker.last_seen_at - (start + driven))
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await listener
    lat = tracker.latencies
    return {
        "rate": rate,
        "changes": tracker.changes,
        "achieved_rate": round(tracker.changes / driven, 1),
        "p50_ms": ms(percentile(lat, 50)),
        "p99_ms": ms(percentile(lat, 99)),
        "max_ms": ms(max(lat) if lat else None),
        "lost_final_states": tracker.lost(),
        "drain_s": round(drain, 2),
        "cpu_share": round(share, 3),
        "cpu_ms_per_change": round(cpu_used * 1000 / max(tracker.changes, 1), 3),
        **other_shares,
    }


async def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    profile = "small" if quick else "max"
    rates = (10.0, 100.0) if quick else (10.0, 100.0, 1000.0)
    seconds = 1.5 if quick else 5.0
    zones = burglary_zones(profile)
    rows: list[dict[str, Any]] = []
    async with simhost(profile) as sims:
        with mosquitto(workdir) as broker:
            async with daemon(broker, sims.panels, min_interval=0.0, workdir=workdir) as bridge:
                await wait_ready(broker.port, [panel_id(0)], 300, bridge)
                await asyncio.sleep(SETTLE)
                for rate in rates:
                    others = {"simulator": sims.proc.pid, "bench": os.getpid()}
                    if broker.proc is not None:
                        others["broker"] = broker.proc.pid
                    row = await _one_rate(
                        broker.port, bridge.pid, sims.controls[0], zones, rate, seconds, others
                    )
                    rows.append({"profile": profile, **row})
                    await asyncio.sleep(0.5)
        for row in rows:
            row["in_flight_violations"] = await sims.violations()
    return rows
