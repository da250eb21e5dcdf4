"""The ``e27bridge`` command: one sub-command per module, loaded only when used.

Each sub-command module exposes ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int`` (the process exit code). Exit codes are documented in the README.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from e27bridge import __version__
from e27bridge.commands import EXIT_INTERRUPTED, EXIT_USAGE

# name -> module; the order is the order of ``--help``.
SUBCOMMANDS: dict[str, str] = {
    "run": "e27bridge.commands.run",
    "link": "e27bridge.commands.link",
    "discover": "e27bridge.commands.discover",
    "check-config": "e27bridge.commands.check_config",
    "health": "e27bridge.commands.health",
    "status": "e27bridge.commands.status",
    "tap": "e27bridge.commands.tap",
    "demo": "e27bridge.commands.demo",
    "simulate": "e27bridge.commands.simulate",
    "version": "e27bridge.commands.version",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(SUBCOMMANDS[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="e27bridge",
        description="Bridge Elk E27 alarm panels to MQTT (Homie v5 and Home Assistant).",
    )
    parser.add_argument("--version", action="version", version=f"e27bridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = _load(name)
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = _load(args.command).run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
