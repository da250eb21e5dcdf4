"""``e27bridge discover``: list the panels that answer UDP discovery on this network."""

from __future__ import annotations

import argparse
import asyncio

from e27bridge.commands import EXIT_FAILURE, EXIT_OK
from e27bridge.panel.discovery import discover
from e27bridge.protocol.discovery import DISCOVERY_PORT, format_mac

HELP = "find E27 panels on the local network (UDP discovery)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        help="probe this address (repeatable; default: broadcast 255.255.255.255)",
    )
    parser.add_argument("--port", type=int, default=DISCOVERY_PORT, help="discovery UDP port")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to listen")


def run(args: argparse.Namespace) -> int:
    targets = [(host, args.port) for host in (args.host or ["255.255.255.255"])]
    panels = asyncio.run(discover(targets, timeout=args.timeout))
    if not panels:
        print("no panel answered (is UDP 2362 reachable? in Docker use host networking)")
        return EXIT_FAILURE
    rows = [("NAME", "MAC", "SERIAL", "HOST", "PORT")]
    rows += [(p.name, format_mac(p.mac), p.serial, p.host, str(p.port)) for p in panels]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return EXIT_OK
