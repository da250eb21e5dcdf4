"""Several simulated panels in one process, each with its own control channel.

The bench starts this as a subprocess (``python -m bench.simhost``) so the panels have a
process (and a CPU account) of their own, apart from the bridge and the bench's clients.
It prints one JSON line describing every panel, then runs until stdin closes or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys

import structlog

from e27bridge.simulator.config import SimulatorConfig, profile_config
from e27bridge.simulator.runner import Simulator, loopback_config

ACCESS_CODE = "24681357"
PASSPHRASE = "bench passphrase"
USER_PIN = 4321


def quiet_logs() -> None:
    """Warnings and worse to stderr: stdout carries results only."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def panel_config(profile: str, index: int, time_scale: float) -> SimulatorConfig:
    """Panel ``index`` of ``profile``: own MAC, room for every bench client's link."""
    config = loopback_config(profile_config(profile)).with_user_pin(USER_PIN)
    identity = dataclasses.replace(
        config.identity, mac=f"0050C2E3{index:04X}", serial=f"E27BENCH{index:04d}"
    )
    credentials = dataclasses.replace(
        config.credentials, access_code=ACCESS_CODE, passphrase=PASSPHRASE, link_slots=16
    )
    # Block ids as strings (a real-panel quirk) stall elke27's bootstrap; the bench compares
    # speed, so its panel answers with numbers only (the tests cover the quirk).
    behaviour = dataclasses.replace(config.behaviour, max_sessions=16, numeric_string_blocks=0.0)
    timings = dataclasses.replace(config.timings, time_scale=time_scale)
    activity = dataclasses.replace(config.activity, enabled=False)
    return dataclasses.replace(
        config,
        identity=identity,
        credentials=credentials,
        behaviour=behaviour,
        timings=timings,
        activity=activity,
        seed=index + 1,
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="small", choices=("small", "large", "max"))
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=50.0)
    args = parser.parse_args()
    quiet_logs()
    sims = [Simulator(panel_config(args.profile, i, args.time_scale)) for i in range(args.count)]
    for sim in sims:
        await sim.start(control="127.0.0.1:0")
    described = [
        {
            "host": s.host,
            "port": s.port,
            "discovery_port": s.discovery_port,
            "mac": s.mac,
            "control": s.control,
        }
        for s in sims
    ]
    sys.stdout.write(json.dumps({"panels": described}) + "\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def stdin_closed() -> None:
        while await reader.read(4096):
            pass
        stop.set()

    watcher = asyncio.create_task(stdin_closed())
    await stop.wait()
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    for sim in sims:
        await sim.close()
    return 0


if __name__ == "__main__":
    from e27bridge.daemon.eventloop import run

    sys.exit(run(main()))
