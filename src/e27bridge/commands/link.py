"""``e27bridge link``: pair this bridge with a panel once and store the link keys.

With a config file it links the configured panels (MAC, host, ports and, when set, the
access code and passphrase come from there); without one it finds the panel by discovery.
The access code and passphrase are asked for (prompt, environment or stdin) only when the
config does not give them, used for one ``api_link`` exchange and forgotten; they are never
accepted on the command line. Prompts run outside the event loop, so the first Ctrl-C ends
the command at once (exit 130).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from e27bridge.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from e27bridge.commands.options import add_discovery_port, add_port
from e27bridge.daemon.config import Config, ConfigError, PanelConfig, add_config_argument
from e27bridge.daemon.config import load_config as _load_config
from e27bridge.daemon.health import LINK_REQUIRED, HealthFileError, read_health
from e27bridge.daemon.keystore import KeyStore
from e27bridge.panel.discovery import discover
from e27bridge.panel.linking import link
from e27bridge.protocol.discovery import API_PORT, DISCOVERY_PORT, format_mac, normalize_mac
from e27bridge.protocol.errors import E27Error

HELP = "link this bridge with a panel (asks for the access code and passphrase)"
ACCESS_CODE_ENV = "E27BRIDGE_ACCESS_CODE"
PASSPHRASE_ENV = "E27BRIDGE_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
BROADCAST = "255.255.255.255"
DISCOVERY_TIMEOUT = 3.0


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--panel",
        metavar="ID",
        help="link only this configured panel (default: every configured panel not linked yet)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where keys are stored (default: the config's bridge.state_dir)",
    )
    parser.add_argument(
        "--mac", help="the panel's MAC (default: from the config, or the only panel found)"
    )
    parser.add_argument(
        "--host",
        help="the panel's address: no broadcast, only a unicast discovery probe to it "
        "(default: from the config, else broadcast discovery)",
    )
    add_port(parser, f"(default: from discovery or the config, else {API_PORT})")
    add_discovery_port(parser, f"(default: from the config, else {DISCOVERY_PORT})")
    parser.add_argument(
        "--stdin",
        action="store_true",
        help="read access code and passphrase from stdin, one line each (per panel)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the panel's link reply (default: 10)",
    )


class UsageError(ValueError):
    """The command line or its input is incomplete (exit code 2)."""


class NotFoundError(ValueError):
    """The panel could not be found (exit code 1)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One panel to link, as far as the config and the command line say."""

    panel_id: str | None  # None: not in the config (print a [[panels]] snippet afterwards)
    mac: str | None
    host: str | None
    port: int | None  # None: from discovery, else API_PORT
    discovery_port: int
    access_code: str | None = None
    passphrase: str | None = None

    @property
    def label(self) -> str:
        return self.panel_id or (format_mac(self.mac) if self.mac else "the panel")


def run(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        state_dir = args.state_dir or (config.bridge.state_dir if config else None)
        if state_dir is None:
            raise UsageError("give --config FILE or --state-dir DIR (where the keys go)")
        store = KeyStore(state_dir)
        targets = _targets(args, config, store)
        if not targets:
            print("every configured panel is linked already; name one with --panel ID to relink")
            return EXIT_OK
        secrets = _secret_source(args)
        configured = {p.mac: p.id for p in config.panels} if config else {}
        for target in targets:
            _link_one(args, store, target, secrets, configured)
    except ConfigError as exc:
        print(f"e27bridge link: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"e27bridge link: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NotFoundError as exc:
        print(f"e27bridge link: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (E27Error, OSError, ValueError) as exc:
        print(f"link failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _config(args: argparse.Namespace) -> Config | None:
    """The config file; only optional when ``--state-dir`` says where the keys go."""
    if args.config is None and args.state_dir is not None:
        return None
    return _load_config(args.config)


def _targets(args: argparse.Namespace, config: Config | None, store: KeyStore) -> list[Target]:
    mac = normalize_mac(args.mac) if args.mac else None
    panels = config.panels if config else []
    chosen = _chosen(args, mac, panels, store)
    named = args.panel is not None or mac is not None or args.host is not None
    if not chosen and panels and not named:
        return []  # every configured panel is linked already
    if not chosen:  # not a configured panel: the command line and discovery say everything
        return [_override(Target(None, mac, None, None, DISCOVERY_PORT), args)]
    return [_override(_from_config(p, store), args) for p in chosen]


def _chosen(
    args: argparse.Namespace, mac: str | None, panels: list[PanelConfig], store: KeyStore
) -> list[PanelConfig]:
    """The configured panels the command line names; without a name, the unlinked ones."""
    if args.panel is not None:
        chosen = [p for p in panels if p.id == args.panel]
        if not chosen:
            known = ", ".join(p.id for p in panels) or "none"
            raise UsageError(f"no panel {args.panel!r} in the config (configured: {known})")
        return chosen
    if mac is not None:
        return [p for p in panels if p.mac == mac]
    if args.host is not None:
        return [p for p in panels if p.host == args.host]
    return [p for p in panels if _needs_link(p, store)]


def _needs_link(panel: PanelConfig, store: KeyStore) -> bool:
    """No usable keys stored, or the running daemon reports the panel refused them."""
    stored, identity = store.load_link(panel.mac), store.load_identity()
    if stored is None or identity is None or not stored.matches(identity):
        return True
    with contextlib.suppress(HealthFileError):
        return read_health(store.state_dir).panels.get(panel.id) == LINK_REQUIRED
    return False


def _from_config(panel: PanelConfig, store: KeyStore) -> Target:
    hint = store.load_host_hint(panel.mac)
    host, port = (panel.host, panel.port) if hint is None else (hint.host, hint.port)
    return Target(
        panel.id,
        panel.mac,
        host,
        port,
        panel.discovery_port,
        panel.access_code.get_secret_value() if panel.access_code else None,
        panel.passphrase.get_secret_value() if panel.passphrase else None,
    )


def _override(target: Target, args: argparse.Namespace) -> Target:
    """What the command line says wins over the config."""
    return replace(
        target,
        mac=normalize_mac(args.mac) if args.mac else target.mac,
        host=args.host or target.host,
        port=args.port if args.port is not None else target.port,
        discovery_port=(
            args.discovery_port if args.discovery_port is not None else target.discovery_port
        ),
    )


def _secret_source(args: argparse.Namespace) -> Iterator[str]:
    """Lines of stdin with ``--stdin``; read once, handed out two per panel."""
    if not args.stdin:
        return iter(())
    return iter(sys.stdin.read().splitlines())


def _secrets(args: argparse.Namespace, target: Target, lines: Iterator[str]) -> tuple[str, str]:
    if target.access_code is not None and target.passphrase is not None:
        return target.access_code, target.passphrase
    if args.stdin:
        code, phrase = next(lines, None), next(lines, None)
        if code is None or phrase is None:
            raise UsageError("--stdin needs two lines per panel: access code, then passphrase")
        return code.strip(), phrase
    suffix = f" for {target.panel_id}" if target.panel_id else ""
    code = os.environ.get(ACCESS_CODE_ENV) or getpass.getpass(f"Access code{suffix}: ")
    phrase = os.environ.get(PASSPHRASE_ENV) or getpass.getpass(f"Passphrase{suffix}: ")
    return code.strip(), phrase


def _link_one(
    args: argparse.Namespace,
    store: KeyStore,
    target: Target,
    lines: Iterator[str],
    configured: Mapping[str, str],
) -> None:
    target = asyncio.run(_locate(target))
    assert target.mac is not None
    if target.panel_id is None and target.mac in configured:  # found by --host or discovery
        target = replace(target, panel_id=configured[target.mac])
    assert target.mac is not None and target.host is not None and target.port is not None
    access_code, passphrase = _secrets(args, target, lines)  # outside the loop: Ctrl-C is 130
    identity = store.load_or_create_identity()
    where = f"{target.host}:{target.port}"
    print(
        f"linking {target.label} at {where} as client {identity.sn} "
        f"(this can take up to {args.timeout:.0f} s) ...",
        flush=True,
    )
    keys = asyncio.run(
        link(
            target.host,
            target.port,
            identity,
            access_code=access_code,
            passphrase=passphrase,
            timeout=args.timeout,
        )
    )
    store.save_link(target.mac, keys, identity)
    store.save_host_hint(target.mac, target.host, target.port)
    print(f"linked {target.label}; keys stored in {store.link_path(target.mac)}")
    if target.panel_id is None:
        print("add this panel to the config file:\n")
        print(f'[[panels]]\nmac = "{format_mac(target.mac)}"\nhost = "{target.host}"')
        print(f"port = {target.port}")
        if target.discovery_port != DISCOVERY_PORT:
            print(f"discovery_port = {target.discovery_port}")


async def _locate(target: Target) -> Target:
    """Ask the panel where it is: unicast to a known host, else broadcast; MAC and API port."""
    probe_host = target.host or BROADCAST
    udp = f"UDP {probe_host}:{target.discovery_port}"
    print(f"looking for {target.label} ({udp}) ...", flush=True)
    panels = await discover(
        [(probe_host, target.discovery_port)],
        timeout=DISCOVERY_TIMEOUT,
        want_mac=None if target.host else target.mac,  # a known host: check who answers
        first_only=target.host is not None,
    )
    if target.host is None and target.mac is None and len(panels) > 1:
        raise NotFoundError(f"found {len(panels)} panels on {udp}; name one with --mac or --host")
    if not panels:
        if target.mac is None:
            raise NotFoundError(f"no panel answered discovery on {udp}; give its MAC with --mac")
        if target.host is None:
            raise NotFoundError(
                f"panel {format_mac(target.mac)} did not answer discovery on {udp}; "
                "give its address with --host (or host in the config)"
            )
        port = target.port or API_PORT
        print(f"no discovery answer on {udp}; using {target.host}:{port} as given")
        return replace(target, port=port)
    found = panels[0]
    if target.mac is not None and found.mac != target.mac:
        raise NotFoundError(
            f"{target.host} is panel {format_mac(found.mac)}, not {format_mac(target.mac)}"
        )
    port = target.port if target.port is not None else found.port
    print(f"found {found.name or 'panel'} {format_mac(found.mac)} at {found.host}:{port}")
    return replace(target, mac=found.mac, host=found.host, port=port)
