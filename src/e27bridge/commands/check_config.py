"""``e27bridge check-config``: validate the configuration and print it without secrets."""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from e27bridge.commands import EXIT_OK, EXIT_USAGE
from e27bridge.daemon.config import (
    ConfigError,
    add_config_argument,
    default_config_path,
    load_config,
)
from e27bridge.daemon.config.secret_files import world_readable_secret_files

HELP = "validate the configuration and print the effective settings (secrets masked)"

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--format",
        choices=("toml", "json"),
        default="toml",
        help="output format of the effective configuration (default: toml)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="only validate")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"e27bridge check-config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        data = config.model_dump(mode="json")
        if args.format == "json":
            print(json.dumps(data, indent=2))
        else:
            print("\n".join(to_toml(data)))
    if not config.panels:
        print("e27bridge check-config: warning: no [[panels]] configured", file=sys.stderr)
    for option, secret in world_readable_secret_files(config):
        print(
            f"e27bridge check-config: warning: {option} {secret} is readable by every user "
            "on this machine; make it 0600 or 0640 (fine as it is inside a container)",
            file=sys.stderr,
        )
    path = args.config if args.config is not None else default_config_path()
    if os.geteuid() == 0 and (why := unreadable_for_others(path)):
        print(
            f"e27bridge check-config: warning: {why}: the systemd unit's dynamic user will "
            "not be able to read it (exit 2, `Permission denied`); make the file 0644 and "
            "keep secrets in LoadCredential= files (see the README)",
            file=sys.stderr,
        )
    return EXIT_OK


def unreadable_for_others(path: Path) -> str | None:
    """Why a user in none of the file's groups could not read ``path``; None if one can.

    Only meaningful when run as root, who reads everything: a systemd ``DynamicUser=`` is
    such an outsider. Run as any other user (Docker's, ``systemd-run``'s), loading the
    file already proved that this user can read it.
    """
    path = Path(os.path.abspath(path))
    try:
        mode = path.stat().st_mode
        if not mode & stat.S_IROTH:
            return f"{path} is mode {stat.S_IMODE(mode):04o}, not readable by other users"
        for parent in path.parents:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return f"directory {parent} is not searchable by other users"
    except OSError:
        return None  # no file (defaults and environment only): nothing to read
    return None


def to_toml(data: dict[str, Any]) -> list[str]:
    """Render the effective configuration as TOML; unset options become comments."""
    lines = list(_table(data, ()))
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def _table(data: dict[str, Any], path: tuple[str, ...]) -> Iterator[str]:
    for key, value in data.items():
        if not _is_table(value):
            yield _assignment(key, value)
    for key, value in data.items():
        if isinstance(value, dict):
            if not value or any(not _is_table(v) for v in value.values()):
                yield ""
                yield f"[{_dotted((*path, key))}]"
            yield from _table(value, (*path, key))
        elif _is_table_list(value):
            for item in value:
                yield ""
                yield f"[[{_dotted((*path, key))}]]"
                yield from _table(item, (*path, key))


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or _is_table_list(value)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _assignment(key: str, value: Any) -> str:
    if value is None:
        return f"# {_key(key)} is not set"
    return f"{_key(key)} = {_value(value)}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(k) for k in path)
