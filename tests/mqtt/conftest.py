"""A real mosquitto on a free loopback port per test (started and stopped here)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from e27bridge.mqtt.connection import MqttConnection

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def _mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_CANDIDATES if Path(p).exists()), None
    )
    if found is None:
        raise RuntimeError("mosquitto is not installed (scripts/test.sh installs it)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One mosquitto process; ``restart`` keeps the port (and, optionally, nothing else)."""

    def __init__(self, directory: Path, extra_config: str = "") -> None:
        self.directory = directory
        self.port = free_port()
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        conf = self.directory / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # As root, mosquitto would switch to its own user and could not write its log
            # into pytest's private temp dir; ignored when not started as root.
            "user root\n"
            "allow_anonymous true\n"
            "persistence false\n"
            f"log_dest file {self.directory / 'mosquitto.log'}\n"
            # notice: where mosquitto says it drops a slow client's messages
            "log_type error\nlog_type warning\nlog_type notice\n" + self.extra_config
        )
        self.proc = subprocess.Popen(
            [_mosquitto_binary(), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    log = (self.directory / "mosquitto.log").read_text(errors="replace")
                    raise RuntimeError(f"mosquitto exited: {log}") from None
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again: without persistence, every retained message is gone."""
        self.stop()
        self.start()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@contextlib.asynccontextmanager
async def running(conn: MqttConnection) -> AsyncIterator[asyncio.Task[None]]:
    """``conn.run()`` as a task for the block; stopped cleanly (and cancelled) after it."""
    task = asyncio.create_task(conn.run())
    try:
        yield task
    finally:
        await conn.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
