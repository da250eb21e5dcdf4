"""Engine benchmark: bootstrap time per profile, command throughput and snapshot memory.

Run: ``.venv/bin/python bench/bench_engine.py [--profile large] [--commands 500]``.
Targets (2-core machine, simulator on loopback, 50 ms pacing off): bootstrap of the large
profile well under the 20-30 s a real panel needs at 15-20 requests/s, >= 300 queued
commands/s through the single-in-flight queue, and < 5 MiB for a max-profile snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from e27bridge.panel.commands import SetOutput
from e27bridge.panel.queue import QueueSettings
from e27bridge.simulator.runner import run_simulator
from panel.conftest import linked_owner, sim_config


async def bench(profile: str, commands: int) -> None:
    queue = QueueSettings(min_interval=0.0, request_timeout=5.0, depth=commands + 10)
    async with run_simulator(sim_config(profile)) as sim:
        owner = await linked_owner(sim, queue=queue)
        tracemalloc.start()
        start = time.perf_counter()
        await owner.start()
        await owner.wait_ready(300)
        boot = time.perf_counter() - start
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        snap = owner.snapshot
        print(
            f"profile={profile} zones={len(snap.zones)} bootstrap={boot:.2f}s "
            f"requests/s={owner.queue.sent_total / boot:.0f} engine_memory={current / 2**20:.2f}MiB"
        )
        outputs = sorted(snap.outputs)
        start = time.perf_counter()
        results = await asyncio.gather(
            *(
                owner.submit(SetOutput(outputs[i % len(outputs)], on=i % 2 == 0))
                for i in range(commands)
            )
        )
        took = time.perf_counter() - start
        ok = sum(r.ok for r in results)
        print(
            f"commands={commands} ok={ok} took={took:.2f}s rate={commands / took:.0f}/s "
            f"in_flight_violations={sim.stats.in_flight_violations}"
        )
        await owner.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="large", choices=("small", "large", "max"))
    parser.add_argument("--commands", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(bench(args.profile, args.commands))


if __name__ == "__main__":
    main()
