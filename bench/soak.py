"""Soak: hours of an unlucky installation squeezed into minutes, watching what leaks.

    python -m bench.soak --minutes 10 [--panels 2] [--out FILE.json]

Real mosquitto, simulated panels in their own process, ``e27bridge run``. While it runs,
zones open and close (four changes a second), commands toggle outputs (two a second, each
with its own correlation id) and every 20-40 s one panel gets a random fault: sessions
dropped, a restart, replies dropped, late or slow, connections closed at random. At the end
the faults are cleared and the run reports:

- ``rss``: the daemon's RSS after the first minute (warm) and at the end; growth in %;
- ``lost_updates``: zones whose last published ``open`` differs from the panel's last
  change once everything has settled (the bridge lost a change for good);
- ``results``: per command, how many results came back (missing and duplicated counted);
- ``in_flight_violations`` and whether the daemon is still alive without a traceback.

Exit status 1 when a target is missed (RSS growth >= 5 %, anything lost, missing or
duplicated, a violation, a dead daemon).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.rig import SimHost, client, daemon, mosquitto, panel_id, rss_mib, simhost, wait_ready
from bench.simhost import quiet_logs

ZONES = range(1, 14)  # burglary zones of the small profile: opening one raises no alarm
OUTPUTS = (1, 2)
RSS_TARGET_PCT = 5.0
FAULTS: list[dict[str, Any]] = [
    {"drop_reply_probability": 0.2},
    {"late_reply_probability": 0.2, "late_reply_delay": 3.0},
    {"response_delay": 0.4, "jitter": 0.2},
    {"close_probability": 0.05},
    {"split_frames": True, "garbage_between_frames": 0.3, "bad_crc_probability": 0.1},
]


@dataclass
class Observed:
    """What the bridge published, and what the soak asked of it."""

    zones: dict[tuple[str, int], bytes] = field(default_factory=dict)
    expected: dict[tuple[str, int], bytes] = field(default_factory=dict)
    sent: set[bytes] = field(default_factory=set)
    results: Counter[bytes] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    zone_changes: int = 0
    zone_publishes: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    def lost(self) -> list[str]:
        return [
            f"{p}/zone-{z}"
            for (p, z), want in self.expected.items()
            if self.zones.get((p, z)) != want
        ]


async def observe(port: int, seen: Observed) -> None:
    async with client(port) as sub:
        await sub.subscribe("homie/5/+/+/open", qos=1)
        await sub.subscribe("soak/resp", qos=1)
        async for message in sub.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if topic == "soak/resp":
                key = message.properties.CorrelationData if message.properties else None
                seen.results[key or b"?"] += 1
                seen.statuses[payload.split(b'"status":"', 1)[-1].split(b'"', 1)[0].decode()] += 1
                continue
            parts = topic.split("/")
            if parts[3].startswith("zone-"):
                seen.zones[parts[2], int(parts[3][5:])] = payload
                seen.zone_publishes += 1


async def zone_activity(sims: SimHost, seen: Observed, rng: random.Random, stop: float) -> None:
    while time.monotonic() < stop:
        index, zone = rng.randrange(len(sims.panels)), rng.choice(ZONES)
        state = rng.choice(("open", "closed"))
        await sims.controls[index].call("set_zone", zone_id=zone, state=state)
        seen.expected[panel_id(index), zone] = b"true" if state == "open" else b"false"
        seen.zone_changes += 1
        await asyncio.sleep(0.25)


async def commands(port: int, panels: int, seen: Observed, rng: random.Random, stop: float) -> None:
    async with client(port) as pub:
        n = 0
        while time.monotonic() < stop:
            n += 1
            key = f"soak-{n}".encode()
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.ResponseTopic, props.CorrelationData = "soak/resp", key
            seen.sent.add(key)
            topic = f"homie/5/{panel_id(rng.randrange(panels))}/output-{rng.choice(OUTPUTS)}/on/set"
            await pub.publish(topic, rng.choice((b"true", b"false")), qos=1, properties=props)
            await asyncio.sleep(0.5)


async def faults(sims: SimHost, seen: Observed, rng: random.Random, stop: float) -> None:
    while time.monotonic() + 45 < stop:  # the last fault ends well before the settling
        await asyncio.sleep(rng.uniform(20, 40))
        control = sims.controls[rng.randrange(len(sims.panels))]
        kind = rng.choice(("drop_sessions", "restart", "faults"))
        seen.faults[kind] += 1
        if kind == "drop_sessions":
            await control.call("drop_sessions")
        elif kind == "restart":
            await control.call("restart", down_for=rng.uniform(0.5, 3.0), wait=True)
        else:
            await control.call("set_faults", faults=rng.choice(FAULTS))
            await asyncio.sleep(rng.uniform(5, 15))
            await control.call("clear_faults")


async def settle(seen: Observed, timeout: float) -> None:
    """Until every command has a result and every zone shows its last change (or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not seen.lost() and all(seen.results[k] for k in seen.sent):
            return
        await asyncio.sleep(0.2)


async def soak(minutes: float, panels: int, workdir: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    seen = Observed()
    rss: list[tuple[float, float]] = []
    with mosquitto(workdir) as broker:
        async with (
            simhost("small", panels) as sims,
            daemon(broker, sims.panels, min_interval=0.0, workdir=workdir) as bridge,
        ):
            await wait_ready(broker.port, [panel_id(i) for i in range(panels)], 120, bridge)
            observer = asyncio.create_task(observe(broker.port, seen))
            await asyncio.sleep(1)
            start = time.monotonic()
            stop = start + minutes * 60

            async def sample() -> None:
                while True:
                    rss.append((time.monotonic() - start, rss_mib(bridge.pid)))
                    await asyncio.sleep(5)

            sampler = asyncio.create_task(sample())
            await asyncio.gather(
                zone_activity(sims, seen, rng, stop),
                commands(broker.port, panels, seen, rng, stop),
                faults(sims, seen, rng, stop),
            )
            for control in sims.controls:
                await control.call("clear_faults")
            await settle(seen, 60)
            sampler.cancel()
            rss.append((time.monotonic() - start, rss_mib(bridge.pid)))
            observer.cancel()
            for task in (sampler, observer):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            violations = await sims.violations()
            alive = bridge.proc.returncode is None
            log = bridge.log_path.read_text(errors="replace")
    return report(minutes, panels, seen, rss, violations, alive, log)


def report(
    minutes: float,
    panels: int,
    seen: Observed,
    rss: list[tuple[float, float]],
    violations: int,
    alive: bool,
    log: str,
) -> dict[str, Any]:
    warm_at = min(60.0, minutes * 60 / 5)
    warm = next((mib for t, mib in rss if t >= warm_at), rss[0][1])
    end = rss[-1][1]
    per_command = Counter(seen.results[k] for k in seen.sent)
    strangers = sum(n for k, n in seen.results.items() if k not in seen.sent)
    lost = seen.lost()
    return {
        "minutes": minutes,
        "panels": panels,
        "rss_mib": {
            "warm": round(warm, 1),
            "end": round(end, 1),
            "max": round(max(m for _, m in rss), 1),
            "growth_pct": round((end - warm) / warm * 100, 2),
        },
        "zone_changes": seen.zone_changes,
        "zone_publishes": seen.zone_publishes,
        "lost_updates": len(lost),
        "lost": lost,
        "commands": len(seen.sent),
        "results_per_command": {str(n): c for n, c in sorted(per_command.items())},
        "missing": per_command.get(0, 0),
        "duplicated": sum(c for n, c in per_command.items() if n > 1) + strangers,
        "statuses": dict(seen.statuses),
        "faults": dict(seen.faults),
        "in_flight_violations": violations,
        "daemon_alive": alive,
        "tracebacks": log.count("Traceback"),
    }


def passed(result: dict[str, Any]) -> bool:
    return bool(
        result["rss_mib"]["growth_pct"] < RSS_TARGET_PCT
        and result["lost_updates"] == 0
        and result["missing"] == 0
        and result["duplicated"] == 0
        and result["in_flight_violations"] == 0
        and result["daemon_alive"]
        and result["tracebacks"] == 0
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--panels", type=int, default=2)
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--out", type=Path, help="also write the report here (JSON)")
    args = parser.parse_args(argv)
    quiet_logs()
    with tempfile.TemporaryDirectory(prefix="e27soak-") as tmp:
        result = await soak(args.minutes, args.panels, Path(tmp), args.seed)
    result["passed"] = passed(result)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    from e27bridge.daemon.eventloop import run

    sys.exit(run(main()))
