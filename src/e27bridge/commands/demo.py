"""``e27bridge demo``: a simulated panel, an MQTT broker and the bridge, in one command.

Nothing to configure and nothing left behind: the panel listens on free loopback ports, the
broker (mosquitto when installed, else amqtt from the ``demo`` extra) on 127.0.0.1, the
bridge keeps its keys in a temporary directory, and on a broker given with ``--broker`` the
demo's retained topics are removed at the end. Ctrl-C or SIGTERM stops everything, exit 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from e27bridge.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from e27bridge.commands.options import add_log_level
from e27bridge.daemon import eventloop

HELP = "try the bridge: simulated panel + MQTT broker + bridge, with a live view"


def _broker_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, "1883"
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        type=_broker_address,
        metavar="HOST:PORT",
        help="use this MQTT broker (anonymous access; the demo's retained topics are removed "
        "when it stops) instead of starting mosquitto, or amqtt when mosquitto is missing",
    )
    parser.add_argument(
        "--profile",
        choices=("small", "large", "max"),
        default="large",
        help="size of the simulated panel (default: large)",
    )
    parser.add_argument(
        "--time-scale",
        type=_positive,
        default=1.0,
        metavar="F",
        help="run panel timers and zone activity F times faster (default: 1)",
    )
    parser.add_argument(
        "--no-activity", action="store_true", help="no random zone openings and closings"
    )
    parser.add_argument(
        "--duration", type=_positive, metavar="S", help="stop by itself after S seconds"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="keep the demo's link keys and panel memory here, so a restarted demo keeps its "
        "link (default: $XDG_STATE_HOME/e27bridge-demo, i.e. ~/.local/state/e27bridge-demo)",
    )
    add_log_level(parser, "WARNING", "bridge log level on stderr (the live view is on stdout)")
    eventloop.add_loop_argument(parser)


def _write(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace) -> int:
    from e27bridge.daemon.logging import configure_logging  # noqa: PLC0415 - fast --help
    from e27bridge.demo import broker  # noqa: PLC0415
    from e27bridge.demo.runner import DemoOptions, run_demo  # noqa: PLC0415

    if args.broker is None and broker.find_mosquitto() is None and not broker.available():
        print(f"e27bridge demo: {broker.describe_missing()}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(args.log_level, "auto")
    broker.quiet_logging()
    options = DemoOptions(
        profile=args.profile,
        time_scale=args.time_scale,
        activity=not args.no_activity,
        broker=broker.BrokerAddress(*args.broker) if args.broker else None,
        duration=args.duration,
        state_dir=args.state_dir,
    )
    try:
        eventloop.run(run_demo(options, _write), args.loop)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"e27bridge demo: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
