"""``e27bridge version``: print the version (for bug reports and health checks)."""

from __future__ import annotations

import argparse
import platform

from e27bridge import __version__
from e27bridge.commands import EXIT_OK

HELP = "print the e27bridge version"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="also print Python and platform")


def run(args: argparse.Namespace) -> int:
    print(f"e27bridge {__version__}")
    if args.verbose:
        print(f"python {platform.python_version()} on {platform.platform()}")
    return EXIT_OK
