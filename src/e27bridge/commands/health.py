"""``e27bridge health``: exit 0 when the running daemon is healthy (Docker HEALTHCHECK)."""

from __future__ import annotations

import argparse

from e27bridge.commands import EXIT_FAILURE, EXIT_OK
from e27bridge.commands.options import add_state_dir, state_dir_of
from e27bridge.daemon import health
from e27bridge.daemon.config import ConfigError

HELP = "check that the running daemon is healthy (exit 0) or not (exit 1)"

# Docker reserves HEALTHCHECK exit code 2, so every failure here, a bad config included,
# is 1 with the reason on stdout (which Docker keeps in `docker inspect`).


def configure(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument(
        "--max-age",
        type=float,
        default=health.MAX_AGE,
        metavar="SECONDS",
        help=f"oldest acceptable health file (default: {health.MAX_AGE:.0f})",
    )


def run(args: argparse.Namespace) -> int:
    try:
        state_dir = state_dir_of(args)
    except ConfigError as exc:
        print(f"unhealthy: {exc}")
        return EXIT_FAILURE
    try:
        report = health.read_health(state_dir)
    except health.HealthFileError as exc:
        print(f"unhealthy: {exc}")
        return EXIT_FAILURE
    panels = ", ".join(f"{k}={v}" for k, v in sorted(report.panels.items())) or "none"
    found = health.problems(report, max_age=args.max_age)
    if found:
        print("unhealthy: " + "; ".join(found) + f" (panels: {panels})")
        return EXIT_FAILURE
    print(f"healthy: mqtt connected, panels: {panels}")
    return EXIT_OK
