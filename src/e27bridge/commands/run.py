"""``e27bridge run``: the daemon (panels + MQTT) until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import sys

from e27bridge.commands import EXIT_FAILURE, EXIT_USAGE
from e27bridge.commands.options import add_log_level
from e27bridge.daemon import eventloop
from e27bridge.daemon.config import ConfigError, add_config_argument, load_config
from e27bridge.daemon.keystore import KeyStoreError
from e27bridge.daemon.logging import configure_logging

HELP = "run the bridge daemon (panels to MQTT) until stopped"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--log-format",
        choices=("auto", "json", "console"),
        default=None,
        help="log lines as JSON or for a console; auto: console on a terminal "
        "(default: the config's logging.format)",
    )
    add_log_level(parser, None, "log level on stderr")
    eventloop.add_loop_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"e27bridge run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(
        args.log_level or config.logging.level, args.log_format or config.logging.format
    )
    from e27bridge.app import Daemon  # noqa: PLC0415 - keeps `--help` fast

    async def main() -> None:
        await Daemon(config).run()

    try:
        eventloop.run(main(), args.loop)
    except KeyStoreError as exc:
        print(f"e27bridge run: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (OSError, ValueError) as exc:
        print(f"e27bridge run: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0
