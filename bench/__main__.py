"""Run the benchmark suite side by side with its references and write the results.

    python -m bench [--quick] [--only commands,events,...] [--out bench/results]

Sections: ``simulator`` (the panel's own capacity), ``commands`` (vs the ideal client),
``events``, ``bootstrap`` (vs ``elke27``), ``footprint``, ``economy``. Writes
``latest.json`` and ``latest.md`` to the output directory and prints the tables.
``--quick`` (under 2 minutes) proves that everything runs; it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bootstrap, commands, economy, events, footprint, ideal
from bench.report import markdown, targets
from bench.simhost import quiet_logs

Section = Callable[[Path, bool], Awaitable[list[dict[str, Any]]]]
SECTIONS: dict[str, Section] = {
    "simulator": ideal.capacity,
    "commands": commands.run,
    "events": events.run,
    "bootstrap": bootstrap.run,
    "footprint": footprint.run,
    "economy": economy.run,
}


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only (CI)")
    parser.add_argument("--only", default="", help="comma-separated sections")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    quiet_logs()
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "sections": {},
        "seconds": {},
    }
    with tempfile.TemporaryDirectory(prefix="e27bench-") as tmp:
        for name in chosen:
            start = time.monotonic()
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            results["sections"][name] = await SECTIONS[name](Path(tmp), args.quick)
            results["seconds"][name] = round(time.monotonic() - start, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = targets(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.out / "latest.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    from e27bridge.daemon.eventloop import run

    sys.exit(run(main()))
