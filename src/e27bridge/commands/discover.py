"""``e27bridge discover``: list the panels that answer UDP discovery on this network."""

from __future__ import annotations

import argparse
import asyncio

from e27bridge.commands import EXIT_FAILURE, EXIT_OK
from e27bridge.commands.options import add_discovery_port
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
    add_discovery_port(parser, f"to probe (default: {DISCOVERY_PORT})")
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS", help="how long to listen (5)"
    )


def run(args: argparse.Namespace) -> int:
    port = DISCOVERY_PORT if args.discovery_port is None else args.discovery_port
    targets = [(host, port) for host in (args.host or ["255.255.255.255"])]
    panels = asyncio.run(discover(targets, timeout=args.timeout))
    if not panels:
        probed = ", ".join(f"{host}:{port}" for host, port in targets)
        print(
            f"no panel answered on UDP {probed} "
            "(is that port reachable? in Docker use host networking)"
        )
        return EXIT_FAILURE
    rows = [("NAME", "MAC", "SERIAL", "HOST", "PORT")]
    rows += [(p.name, format_mac(p.mac), p.serial, p.host, str(p.port)) for p in panels]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return EXIT_OK
