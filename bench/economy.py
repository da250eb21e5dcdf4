"""Publish economy: retained topics per profile and MQTT messages per zone change.

After ready, a fresh subscriber to ``#`` counts the retained topics (and their bytes);
then 20 zone changes at 10/s and every message the bridge publishes meanwhile is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import aiomqtt

from bench.events import burglary_zones
from bench.rig import client, daemon, mosquitto, panel_id, simhost, wait_ready

CHANGES = 20
QUIET = 1.0


async def _profile(workdir: Path, profile: str) -> dict[str, Any]:
    async with simhost(profile) as sims:
        with mosquitto(workdir) as broker:
            async with daemon(broker, sims.panels, min_interval=0.0, workdir=workdir) as bridge:
                await wait_ready(broker.port, [panel_id(0)], 300, bridge)
                await asyncio.sleep(1.0)  # let the bootstrap's last publishes settle
                retained: dict[str, int] = {}
                live: dict[str, int] = {}
                last = time.monotonic()
                async with client(broker.port) as sub:
                    await sub.subscribe("#", qos=1)

                    async def listen() -> None:
                        nonlocal last
                        async for message in sub.messages:
                            size = len(message.payload) if isinstance(message.payload, bytes) else 0
                            topic = str(message.topic)
                            if message.retain:
                                retained[topic] = size
                            else:
                                live[topic] = live.get(topic, 0) + 1
                            last = time.monotonic()

                    listener = asyncio.create_task(listen())
                    while time.monotonic() - last < QUIET:
                        await asyncio.sleep(0.1)
                    live.clear()
                    zones = burglary_zones(profile)
                    for i in range(CHANGES):
                        zone = zones[i % len(zones)]
                        state = "open" if (i // len(zones)) % 2 == 0 else "closed"
                        await sims.controls[0].call("set_zone", zone_id=zone, state=state)
                        await asyncio.sleep(0.1)
                    last = time.monotonic()
                    while time.monotonic() - last < QUIET:
                        await asyncio.sleep(0.1)
                    listener.cancel()
                    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                        await listener
    messages = sum(live.values())
    return {
        "profile": profile,
        "retained_topics": len(retained),
        "retained_bytes": sum(retained.values()),
        "messages_per_zone_change": round(messages / CHANGES, 2),
        "topics_per_zone_change": sorted(live),
    }


async def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    profiles = ("small",) if quick else ("small", "large", "max")
    rows = [await _profile(workdir, p) for p in profiles]
    for row in rows:  # the list is for the JSON; the table shows counts
        topics = row.pop("topics_per_zone_change")
        row["distinct_topics_changed"] = len(topics)
        row["sample_topics"] = topics[:6]
    return rows
