"""``e27bridge simulate``: run simulated E27 panels until SIGINT/SIGTERM.

It prints exactly one line per panel on stdout once they listen (scripts and tests parse
them), logs to stderr, and writes the final stats as JSON to ``--stats-file`` on the way
out. ``--state-file`` gives the panels a memory that survives a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import structlog

from e27bridge.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from e27bridge.commands.options import add_discovery_port, add_log_level, add_port
from e27bridge.daemon.eventloop import LoopUnavailableError, add_loop_argument
from e27bridge.daemon.eventloop import run as run_loop
from e27bridge.files import write_private_file

HELP = "run a simulated E27 panel (real wire protocol) for tests and demos"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        choices=("small", "large", "max"),
        default=None,
        help="size of the simulated panel (default: small)",
    )
    parser.add_argument("--scenario", metavar="FILE.toml", help="TOML scenario (overrides profile)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    add_port(parser, "to listen on (default: 2101; 0: any free port)")
    add_discovery_port(parser, "to listen on (default: 2362; 0: any free port)")
    parser.add_argument("--mac", help="panel MAC address")
    parser.add_argument("--access-code", help="access code accepted by api_link")
    parser.add_argument("--passphrase", help="passphrase accepted by api_link")
    parser.add_argument("--user-pin", type=int, help="PIN of user 1 (valid for every area)")
    parser.add_argument("--time-scale", type=float, help="divide every panel timer by F")
    parser.add_argument("--seed", type=int, help="seed for activity and fault dice")
    parser.add_argument("--stats-file", type=Path, help="write stats JSON here on exit")
    parser.add_argument(
        "--state-file",
        type=Path,
        help="keep links, codes, arm states, bypasses, devices and the log here (0600); "
        "with --panels N each panel uses STEM-<MAC>.SUFFIX beside it",
    )
    parser.add_argument(
        "--panels",
        type=int,
        default=1,
        metavar="N",
        help="run N panels (MAC, TCP port and seed counted up from the first)",
    )
    parser.add_argument(
        "--control", metavar="PATH|HOST:PORT", help="JSON-lines control channel (Unix or loopback)"
    )
    parser.add_argument(
        "--activity",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random zone activity on/off (default: as the profile/scenario says)",
    )
    parser.add_argument(
        "--session-policy",
        choices=("refuse", "replace"),
        help="a second HELLO for a linked client: refuse it, or replace the old session",
    )
    parser.add_argument(
        "--strict", action="store_true", default=None, help="disconnect on in-flight violations"
    )
    add_log_level(parser, "WARNING", "simulator log level on stderr")
    add_loop_argument(parser)


def _configure_logging(level: str) -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def build_config(args: argparse.Namespace) -> Any:
    """Profile or scenario, then the flags; raises ``ScenarioError`` with a clear message."""
    from e27bridge.simulator.config import (  # noqa: PLC0415 - keep ``--help`` fast
        ScenarioError,
        profile_config,
    )
    from e27bridge.simulator.scenario import load_scenario  # noqa: PLC0415

    if args.scenario:
        config = load_scenario(args.scenario)
        if args.profile:
            raise ScenarioError("give --profile or --scenario (which names its profile), not both")
    else:
        config = profile_config(args.profile or "small")
    network = config.network
    net_changes = {
        key: value
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("discovery_port", args.discovery_port),
        )
        if value is not None
    }
    identity_changes = {"mac": args.mac} if args.mac else {}
    cred_changes = {
        key: value
        for key, value in (("access_code", args.access_code), ("passphrase", args.passphrase))
        if value is not None
    }
    behaviour_changes: dict[str, Any] = {}
    if args.session_policy:
        behaviour_changes["session_policy"] = args.session_policy
    if args.strict:
        behaviour_changes["strict"] = True
    config = dataclasses.replace(
        config,
        network=dataclasses.replace(network, **net_changes),
        identity=dataclasses.replace(config.identity, **identity_changes),
        credentials=dataclasses.replace(config.credentials, **cred_changes),
        behaviour=dataclasses.replace(config.behaviour, **behaviour_changes),
    )
    if args.time_scale is not None:
        config = dataclasses.replace(
            config, timings=dataclasses.replace(config.timings, time_scale=args.time_scale)
        )
    if args.activity is not None:
        config = dataclasses.replace(
            config, activity=dataclasses.replace(config.activity, enabled=args.activity)
        )
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed)
    if args.user_pin is not None:
        config = config.with_user_pin(args.user_pin)
    return config


def start_line(info: dict[str, Any]) -> str:
    """The one line printed at start: ``key=value`` words, values shell-quoted (``shlex.split``)."""
    fields = {
        "tcp": f"{info['host']}:{info['port']}",
        "udp": f"{info['host']}:{info['discovery_port']}",
        "control": info["control"] or "-",
        "mac": info["mac"],
        "access_code": info["access_code"],
        "passphrase": info["passphrase"],
        "user_pin": info["user_pin"],
        "profile": info["profile"],
    }
    words = " ".join(f"{key}={shlex.quote(str(value))}" for key, value in fields.items())
    return f"e27bridge simulator listening {words}"


def write_stats(path: Path, stats: Any) -> None:
    """Atomic write so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(stats, indent=2, sort_keys=True) + "\n"
    write_private_file(path, text.encode(), mode=0o644)


async def _serve(config: Any, args: argparse.Namespace) -> int:
    from e27bridge.simulator.fleet import panel_configs, run_fleet  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    keep = (1,) if args.user_pin is not None else ()
    configs = panel_configs(config, args.panels)
    async with run_fleet(
        configs, control=args.control, state_file=args.state_file, keep_user_codes=keep
    ) as fleet:
        for info in fleet.describe():
            print(start_line(info), flush=True)
        await stop.wait()
        snapshots = [sim.stats_snapshot() for sim in fleet.panels]
        for sim in fleet.panels:
            sim.save()
    if args.stats_file:
        stats: Any = (
            snapshots[0]
            if args.panels == 1
            else {sim.mac: snap for sim, snap in zip(fleet.panels, snapshots, strict=True)}
        )
        write_stats(args.stats_file, stats)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    from e27bridge.simulator.config import ScenarioError  # noqa: PLC0415
    from e27bridge.simulator.control import ControlError  # noqa: PLC0415

    _configure_logging(args.log_level)
    if not 1 <= args.panels <= 4096:
        print("e27bridge simulate: --panels must be 1..4096", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = build_config(args)
    except ScenarioError as exc:
        print(f"e27bridge simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run_loop(_serve(config, args), args.loop)
    except LoopUnavailableError as exc:
        print(f"e27bridge simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ControlError, ValueError) as exc:  # bad control address, state file, MAC range
        print(f"e27bridge simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"e27bridge simulate: cannot listen: {exc}", file=sys.stderr)
        return EXIT_FAILURE
