"""``e27bridge link``: pair this bridge with a panel once and store the link keys.

The access code and passphrase are asked for (prompt, environment or stdin), used for one
``api_link`` exchange and forgotten; they are never accepted on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from e27bridge.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from e27bridge.daemon.config import ConfigError, load_config
from e27bridge.daemon.keystore import KeyStore
from e27bridge.panel.discovery import discover
from e27bridge.panel.linking import link
from e27bridge.protocol.discovery import API_PORT, DISCOVERY_PORT, format_mac, normalize_mac
from e27bridge.protocol.errors import E27Error

HELP = "link this bridge with a panel (asks for the access code and passphrase)"
ACCESS_CODE_ENV = "E27BRIDGE_ACCESS_CODE"
PASSPHRASE_ENV = "E27BRIDGE_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="config file (for state_dir and panels)")
    parser.add_argument("--state-dir", type=Path, help="where keys are stored (overrides config)")
    parser.add_argument("--mac", help="the panel's MAC (default: the only panel found)")
    parser.add_argument("--host", help="panel address (skips discovery)")
    parser.add_argument("--port", type=int, default=API_PORT)
    parser.add_argument("--discovery-port", type=int, default=DISCOVERY_PORT)
    parser.add_argument(
        "--stdin", action="store_true", help="read access code and passphrase from stdin lines"
    )
    parser.add_argument("--timeout", type=float, default=10.0)


class UsageError(ValueError):
    """The command line or its input is incomplete (exit code 2)."""


def _secrets(args: argparse.Namespace) -> tuple[str, str]:
    if args.stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < 2:
            raise UsageError("--stdin needs two lines: access code, then passphrase")
        return lines[0].strip(), lines[1].rstrip("\n")
    code = os.environ.get(ACCESS_CODE_ENV) or getpass.getpass("Access code: ")
    phrase = os.environ.get(PASSPHRASE_ENV) or getpass.getpass("Passphrase: ")
    return code.strip(), phrase


def run(args: argparse.Namespace) -> int:
    state_dir = args.state_dir
    if state_dir is None:
        try:
            state_dir = load_config(args.config).bridge.state_dir
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
    try:
        return asyncio.run(_link(args, KeyStore(state_dir)))
    except UsageError as exc:
        print(f"link: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (E27Error, OSError, ValueError) as exc:
        print(f"link failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE


async def _link(args: argparse.Namespace, store: KeyStore) -> int:
    mac = normalize_mac(args.mac) if args.mac else None
    host, port = args.host, args.port
    print("looking for the panel ...", flush=True)
    targets = [(host or "255.255.255.255", args.discovery_port)]
    panels = await discover(targets, timeout=3.0, want_mac=mac, first_only=host is not None)
    if host is None and len(panels) != 1:
        print(f"found {len(panels)} panels; name one with --mac or --host", file=sys.stderr)
        return EXIT_FAILURE
    if panels:
        found = panels[0]
        mac = found.mac
        host, port = found.host, found.port
        print(f"found {found.name or 'panel'} {format_mac(found.mac)} at {host}:{port}")
    if mac is None:
        print("the panel did not answer discovery; give its MAC with --mac", file=sys.stderr)
        return EXIT_FAILURE
    access_code, passphrase = _secrets(args)
    identity = store.load_or_create_identity()
    print(f"linking as client {identity.sn} (this can take {args.timeout:.0f} s) ...", flush=True)
    keys = await link(
        host, port, identity, access_code=access_code, passphrase=passphrase, timeout=args.timeout
    )
    store.save_link(mac, keys, identity)
    store.save_host_hint(mac, host, port)
    print(f"linked; keys stored in {store.link_path(mac)}")
    print("add this panel to the config file:\n")
    print(f'[[panels]]\nmac = "{format_mac(mac)}"\nhost = "{host}"\nport = {port}')
    if args.discovery_port != DISCOVERY_PORT:
        print(f"discovery_port = {args.discovery_port}")
    return EXIT_OK
