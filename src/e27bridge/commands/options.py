"""Options several sub-commands share, so each name means one thing everywhere.

``--port`` is always a panel's TCP API port and ``--discovery-port`` its UDP discovery
port; ``--log-level`` takes the same names, in any case, wherever it appears.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from e27bridge.daemon.config import add_config_argument, load_config

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"invalid level {text!r} (choose from {', '.join(LOG_LEVELS)}, any case)"
        )
    return level


def add_log_level(parser: argparse.ArgumentParser, default: str | None, where: str) -> None:
    """``--log-level`` (case-insensitive); ``default`` None means "as the config says"."""
    shown = "the config's logging.level" if default is None else default
    parser.add_argument(
        "--log-level",
        type=_log_level,
        default=default,
        metavar="LEVEL",
        help=f"{where}: {', '.join(LOG_LEVELS)}, any case (default: {shown})",
    )


def port_number(text: str) -> int:
    """A port 0..65535 (0 only makes sense where something listens: any free port)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0..65535: {value}")
    return value


def add_port(parser: argparse.ArgumentParser, detail: str) -> None:
    """``--port``: the panel's TCP API port; None when not given (config or 2101 then)."""
    parser.add_argument(
        "--port",
        type=port_number,
        metavar="PORT",
        help=f"the panel's TCP API port {detail}",
    )


def add_discovery_port(parser: argparse.ArgumentParser, detail: str) -> None:
    """``--discovery-port``: the panel's UDP discovery port; None when not given."""
    parser.add_argument(
        "--discovery-port",
        type=port_number,
        metavar="PORT",
        help=f"the panel's UDP discovery port {detail}",
    )


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--state-dir`` for commands that read the daemon's health file."""
    add_config_argument(parser)
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="read health.json from DIR (default: the config's bridge.state_dir)",
    )


def state_dir_of(args: argparse.Namespace) -> Path:
    """``--state-dir``, else the config's; raises ``ConfigError`` for a bad config."""
    given: Path | None = args.state_dir
    return given if given is not None else load_config(args.config).bridge.state_dir
