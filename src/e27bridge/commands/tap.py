"""``e27bridge tap``: a panel's decoded traffic, live from the broker, one JSON line each.

The running daemon publishes it on ``<base_topic>/<panel>/tap`` when ``panels[].tap`` is
on, already redacted (no PIN, code or key ever leaves the daemon); this only prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiomqtt

from e27bridge.app import connection_settings, topics_from_config
from e27bridge.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from e27bridge.daemon.config import ConfigError, add_config_argument, load_config
from e27bridge.mqtt.connection import ConnectionSettings

HELP = "print a panel's decoded, redacted traffic live from the broker (needs panels[].tap)"


def configure(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--panel", required=True, metavar="ID", help="the panel's id")
    parser.add_argument(
        "--count",
        type=int,
        default=0,
        metavar="N",
        help="stop after N messages (default: 0, until Ctrl-C)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"e27bridge tap: {exc}", file=sys.stderr)
        return EXIT_USAGE
    panel = config.panel(args.panel)
    if panel is None:
        names = ", ".join(p.id for p in config.panels) or "none"
        print(f"e27bridge tap: no panel {args.panel!r} in the config ({names})", file=sys.stderr)
        return EXIT_USAGE
    if not panel.tap:
        print(
            f"e27bridge tap: panels[].tap is off for {panel.id}: set tap = true and restart "
            "the daemon, or nothing arrives",
            file=sys.stderr,
        )
    topic = topics_from_config(config).panel_tap(panel.id)
    try:
        asyncio.run(follow(connection_settings(config), topic, args.count))
    except aiomqtt.MqttError as exc:
        print(
            f"e27bridge tap: broker {config.mqtt.host}:{config.mqtt.port}: {exc}", file=sys.stderr
        )
        return EXIT_FAILURE
    return EXIT_OK


async def follow(s: ConnectionSettings, topic: str, count: int) -> None:
    version = aiomqtt.ProtocolVersion.V311 if s.protocol == "3.1.1" else aiomqtt.ProtocolVersion.V5
    async with aiomqtt.Client(
        s.host,
        s.port,
        username=s.username,
        password=s.password,
        protocol=version,
        keepalive=s.keepalive,
        tls_context=s.tls.context() if s.tls else None,
        tls_insecure=s.tls.insecure if s.tls else None,
    ) as client:
        await client.subscribe(topic, qos=1)
        print(f"e27bridge tap: following {topic}", file=sys.stderr, flush=True)
        seen = 0
        async for message in client.messages:
            payload = message.payload
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
            print(text, flush=True)
            seen += 1
            if count and seen >= count:
                return
