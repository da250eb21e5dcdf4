"""The demo's MQTT broker: mosquitto when installed, else amqtt embedded, else none.

mosquitto is the real thing: the demo starts its own on a free loopback port, with no
persistence, and stops it on the way out. amqtt (the ``demo`` extra) is only the fallback:
it speaks MQTT 3.1.1 only, has lost a command under load and can hand a new client retained
messages outside its subscription. ``clear_retained`` removes what the demo left on a broker
the user gave it (``--broker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiomqtt

DEFAULT_PORT = 1883
INSTALL_HINT = "pip install 'e27bridge[demo]'"
MOSQUITTO_HINT = "apt install mosquitto"
# Debian puts mosquitto in /usr/sbin, which is not on a normal user's PATH.
MOSQUITTO_DIRS = ("/usr/sbin", "/usr/local/sbin")
START_TIMEOUT = 5.0

# amqtt and its state machine library log every connection at INFO and some client
# disconnects at WARNING; the demo's own output is the live view.
_NOISY_LOGGERS = ("amqtt", "transitions")


class BrokerUnavailableError(RuntimeError):
    """Neither mosquitto nor amqtt is installed."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    label: str = "your broker"  # what the banner says about it
    protocol: Literal["auto", "5", "3.1.1"] = "auto"  # for the bridge: amqtt speaks 3.1.1


def find_mosquitto() -> str | None:
    """The mosquitto binary: on PATH, or where Debian installs it."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *MOSQUITTO_DIRS])
    return shutil.which("mosquitto", path=path)


def available() -> bool:
    try:
        importlib.import_module("amqtt.broker")
    except ImportError:
        return False
    return True


def describe_missing() -> str:
    return (
        "the demo needs an MQTT broker: install mosquitto "
        f"({MOSQUITTO_HINT}) or the embedded one ({INSTALL_HINT}),\n"
        "or point the demo at a running broker with --broker HOST:PORT"
    )


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


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def demo_broker(host: str = "127.0.0.1") -> AsyncIterator[BrokerAddress]:
    """mosquitto when installed, else amqtt; ``BrokerUnavailableError`` when neither is."""
    binary = find_mosquitto()
    if binary is not None:
        async with mosquitto_broker(binary, host) as address:
            yield address
    elif available():
        async with embedded_broker(host) as address:
            yield address
    else:
        raise BrokerUnavailableError(describe_missing())


@contextlib.asynccontextmanager
async def mosquitto_broker(binary: str, host: str = "127.0.0.1") -> AsyncIterator[BrokerAddress]:
    """Our own mosquitto on ``host``: port 1883 when free, else any free port."""
    with tempfile.TemporaryDirectory(prefix="e27bridge-demo-mqtt-") as directory:
        log_path = Path(directory) / "mosquitto.log"
        ports = [DEFAULT_PORT] if port_is_free(host, DEFAULT_PORT) else []
        ports += [_free_port(host), _free_port(host)]  # a free port can be taken meanwhile
        for port in ports:
            proc = await _start_mosquitto(binary, host, port, Path(directory), log_path)
            if proc is not None:
                break
        else:
            log = log_path.read_text(errors="replace").strip()
            raise OSError(f"mosquitto did not start on {host}: {log or 'no output'}")
        try:
            yield BrokerAddress(host, port, label=f"mosquitto started by the demo: {binary}")
        finally:
            await _stop(proc)


async def _start_mosquitto(
    binary: str, host: str, port: int, directory: Path, log_path: Path
) -> asyncio.subprocess.Process | None:
    """A running mosquitto accepting connections, or None when it exited (port taken)."""
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} {host}\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\nlog_type warning\n",
        encoding="utf-8",
    )
    with log_path.open("ab") as log:  # our descriptor: written even after mosquitto drops root
        proc = await asyncio.create_subprocess_exec(
            binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=log
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while loop.time() < deadline and proc.returncode is None:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.05)
            continue
        writer.close()
        return proc
    await _stop(proc)
    return None


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 3)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def clear_retained(
    broker: BrokerAddress, filters: Sequence[str], *, settle: float = 0.5, limit: float = 5.0
) -> list[str]:
    """Delete every retained message under ``filters``; returns the topics cleared.

    The broker sends what it retains right after the subscription; once nothing new came
    for ``settle`` seconds, each topic gets an empty retained message, which deletes it.
    """
    topics: set[str] = set()
    async with aiomqtt.Client(broker.host, broker.port, identifier=None) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit):
                messages = aiter(client.messages)
                while True:
                    try:
                        message = await asyncio.wait_for(anext(messages), settle)
                    except TimeoutError:
                        break
                    if message.retain and message.payload:
                        topics.add(str(message.topic))
        for topic in sorted(topics):
            await client.publish(topic, b"", qos=1, retain=True)
    return sorted(topics)


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
        label = "embedded amqtt broker: mosquitto is not installed"
        yield BrokerAddress(host, _bound_port(broker), label=label, protocol="3.1.1")
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()
