"""Flood benchmark: N ``/set`` commands from M clients against ``e27bridge run``.

Run: ``.venv/bin/python bench/bench_flood.py [--commands 20000] [--clients 50]``.
Starts mosquitto, the simulator (small profile) and the daemon as a subprocess, measures
the daemon's RSS while idle and at its peak during the flood, and checks that every
command got exactly one result. Target (issue 9): RSS within 20 MB of idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from e2e.conftest import H, SubprocessDaemon, daemon_toml, sim_config
from e27bridge.simulator.runner import run_simulator
from mqtt.capture import Listener
from mqtt.conftest import Broker
from reliability.flood import BROKER_CONFIG, flood


async def bench(commands: int, clients: int, timeout: float, verbose: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        broker = Broker(directory, BROKER_CONFIG + "log_type notice\n")
        broker.start()
        try:
            async with run_simulator(sim_config()) as sim:
                state = directory / "state"
                state.mkdir()
                config = directory / "config.toml"
                config.write_text(daemon_toml(broker, sim, state).replace('"DEBUG"', '"INFO"'))
                daemon = SubprocessDaemon(config, directory / "daemon.log")
                async with Listener(broker.port, (f"{H}/$state",)) as listener:
                    await daemon.start()
                    await listener.wait_topic(f"{H}/$state", b"ready", timeout=30)
                await asyncio.sleep(2)  # settle: bootstrap garbage collected, pools warm
                assert daemon.proc is not None
                report = await flood(broker.port, daemon.proc.pid, commands, clients, timeout)
                print(report.line())
                await daemon.stop()
                for line in (directory / "mosquitto.log").read_text().splitlines()[4:]:
                    print("mosquitto:", line)
                if verbose:
                    events = Counter(
                        json.loads(line).get("event")
                        for line in daemon.log().splitlines()
                        if line.startswith("{")
                    )
                    print("daemon events:", dict(events.most_common(12)))
        finally:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--verbose", action="store_true", help="count the daemon's log events")
    args = parser.parse_args()
    asyncio.run(bench(args.commands, args.clients, args.timeout, args.verbose))


if __name__ == "__main__":
    main()
