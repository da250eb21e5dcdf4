"""An embedded MQTT 3.1.1 broker (amqtt) on loopback, so the demo needs no broker installed.

amqtt is an optional extra (``e27bridge[demo]``); ``available()`` says whether it can be
imported so the CLI can explain how to install it instead of failing with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
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
    try:
        importlib.import_module("amqtt.broker")
    except ImportError:
        return False
    return True


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound right now (a hint; binding decides)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the broker's own listener, so connections in TIME_WAIT do not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def quiet_logging() -> None:
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _from_amqtt(context: dict[str, Any]) -> bool:
    future = context.get("future")
    get_coro = getattr(future, "get_coro", None)
    coro = get_coro() if callable(get_coro) else None
    code = getattr(coro, "cr_code", None)
    return "amqtt" in str(getattr(code, "co_filename", ""))


def silence_orphaned_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Drop amqtt's "Task exception was never retrieved" reports; keep everything else.

    amqtt fires a task per outgoing message and never awaits it, so a subscriber that
    disconnects mid-stream (``mosquitto_sub`` stopped with Ctrl-C) would print one traceback
    per message still queued for it.
    """

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not _from_amqtt(context):
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


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
    silence_orphaned_tasks(asyncio.get_running_loop())
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
