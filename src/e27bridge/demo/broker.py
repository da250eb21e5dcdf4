"""An embedded MQTT 3.1.1 broker (amqtt) on loopback, so the demo needs no broker installed.

amqtt is an optional extra (``e27bridge[demo]``); ``available()`` says whether it can be
imported so the CLI can explain how to install it instead of failing with a traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

DEFAULT_PORT = 1883
INSTALL_HINT = "pip install 'e27bridge[demo]'"

# amqtt and its state machine library log every connection at INFO and some client
# disconnects at WARNING; the demo's own output is the live view.
_NOISY_LOGGERS = ("amqtt", "transitions")


class BrokerUnavailableError(RuntimeError):
    """amqtt is not installed."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int


def available() -> bool:
    return importlib.util.find_spec("amqtt") is not None


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound right now (a hint; binding decides)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def quiet_logging() -> None:
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _broker_config(host: str, port: int) -> dict[str, Any]:
    # Only anonymous access: no $SYS publisher, no packet or event loggers.
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


def _bound_port(broker: Any) -> int:
    server = broker._servers["default"].instance  # amqtt keeps the asyncio.Server here
    port: int = server.sockets[0].getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def embedded_broker(
    host: str = "127.0.0.1", port: int | None = None
) -> AsyncIterator[BrokerAddress]:
    """Run amqtt on ``host``: ``port``, or 1883 when free, or any free port."""
    try:
        amqtt_broker = importlib.import_module("amqtt.broker")
    except ImportError as exc:
        raise BrokerUnavailableError(f"amqtt is not installed ({INSTALL_HINT})") from exc
    quiet_logging()
    candidates = [port] if port is not None else [DEFAULT_PORT, 0]
    if port is None and not port_is_free(host, DEFAULT_PORT):
        candidates = [0]
    for index, candidate in enumerate(candidates):
        broker = amqtt_broker.Broker(_broker_config(host, candidate))
        try:
            await broker.start()
            break
        except amqtt_broker.BrokerError as exc:
            if index == len(candidates) - 1:
                raise OSError(f"embedded MQTT broker cannot listen on {host}: {exc}") from exc
    try:
        yield BrokerAddress(host, _bound_port(broker))
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()
