"""The parts every bench section runs against: real mosquitto, simulated panels in their own
process, ``e27bridge run`` as a subprocess, and small MQTT helpers.

Everything listens on free loopback ports; every process is stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from bench.simhost import ACCESS_CODE, PASSPHRASE, USER_PIN

ROOT = Path(__file__).resolve().parent.parent
MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM (a clean stop), SIGKILL after 10 s."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@dataclass
class CpuMeter:
    """CPU share of one process between ``start`` and ``stop`` (1.0 = one full core)."""

    pid: int
    cpu0: float = 0.0
    t0: float = 0.0

    def start(self) -> CpuMeter:
        self.cpu0, self.t0 = cpu_seconds(self.pid), time.monotonic()
        return self

    def stop(self) -> tuple[float, float]:
        """(CPU seconds used, share of a core)."""
        used = cpu_seconds(self.pid) - self.cpu0
        return used, used / max(time.monotonic() - self.t0, 1e-9)


class Mosquitto:
    """One mosquitto; ``nodelay`` adds ``set_tcp_nodelay true`` (as EMQX does by default)."""

    def __init__(self, directory: Path, *, nodelay: bool = False) -> None:
        self.directory = directory
        self.nodelay = nodelay
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return "mosquitto+nodelay" if self.nodelay else "mosquitto"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or next(
            (p for p in MOSQUITTO_CANDIDATES if Path(p).exists()), None
        )
        if binary is None:
            raise RuntimeError("mosquitto is not installed (scripts/test.sh installs it)")
        conf = self.directory / f"mosquitto-{self.port}.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nuser root\nallow_anonymous true\n"
            "persistence false\nmax_queued_messages 100000\n"
            f"log_dest file {self.directory / 'mosquitto.log'}\nlog_type error\n"
            + ("set_tcp_nodelay true\n" if self.nodelay else "")
        )
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


@contextlib.contextmanager
def mosquitto(directory: Path, *, nodelay: bool = False) -> Iterator[Mosquitto]:
    broker = Mosquitto(directory, nodelay=nodelay)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass(frozen=True)
class PanelInfo:
    host: str
    port: int
    discovery_port: int
    mac: str
    control: str


class Control:
    """The simulator's JSON-lines control channel; requests may be pipelined."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, address: str) -> Control:
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port), limit=2**24)
        return cls(reader, writer)

    async def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        async with self._lock:
            self._writer.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
            reply: dict[str, Any] = json.loads(await self._reader.readline())
        if not reply.get("ok"):
            raise RuntimeError(f"simulator control {cmd}: {reply.get('error')}")
        return reply

    def send_nowait(self, cmd: str, **args: Any) -> None:
        """Fire a command; its reply is read (and checked) by ``drain``."""
        self._writer.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")

    async def drain(self, count: int) -> None:
        for _ in range(count):
            reply = json.loads(await self._reader.readline())
            if not reply.get("ok"):
                raise RuntimeError(f"simulator control: {reply.get('error')}")

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


@dataclass
class SimHost:
    proc: asyncio.subprocess.Process
    panels: list[PanelInfo]
    controls: list[Control] = field(default_factory=list)

    async def stats(self, index: int = 0) -> dict[str, Any]:
        stats: dict[str, Any] = (await self.controls[index].call("stats"))["stats"]
        return stats

    async def violations(self) -> int:
        total = 0
        for i in range(len(self.panels)):
            total += int((await self.stats(i))["in_flight_violations"])
        return total


@contextlib.asynccontextmanager
async def simhost(profile: str, count: int = 1, time_scale: float = 50.0) -> AsyncIterator[SimHost]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.simhost", "--profile", profile, "--count", str(count),
        "--time-scale", str(time_scale),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        described = json.loads(line)["panels"]
        host = SimHost(proc, [PanelInfo(**p) for p in described])
        host.controls = [await Control.open(p.control) for p in host.panels]
        yield host
    finally:
        for control in getattr(locals().get("host"), "controls", []):
            await control.close()
        await terminate(proc)


# --------------------------------------------------------------------------- the daemon


def panel_id(index: int) -> str:
    return f"p{index}"


def daemon_toml(
    broker_port: int,
    panels: list[PanelInfo],
    state_dir: Path,
    *,
    min_interval: float,
    bridge_id: str = "e27bridge",
) -> str:
    text = f"""
[mqtt]
host = "127.0.0.1"
port = {broker_port}
reconnect_min_backoff = 0.05
reconnect_max_backoff = 0.5

[bridge]
id = "{bridge_id}"
state_dir = "{state_dir}"

[logging]
level = "WARNING"
format = "json"

[queue]
min_interval = {min_interval}
depth = 1000
"""
    for index, panel in enumerate(panels):
        text += f"""
[[panels]]
id = "{panel_id(index)}"
mac = "{panel.mac}"
host = "{panel.host}"
port = {panel.port}
discovery_port = {panel.discovery_port}
access_code = "{ACCESS_CODE}"
passphrase = "{PASSPHRASE}"
"""
    return text


@dataclass
class Daemon:
    proc: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


@contextlib.asynccontextmanager
async def daemon(
    broker: Mosquitto,
    panels: list[PanelInfo],
    *,
    min_interval: float,
    workdir: Path | None = None,
) -> AsyncIterator[Daemon]:
    """``e27bridge run`` on a fresh state directory (it links by itself on first start)."""
    with contextlib.ExitStack() as stack:
        directory = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        state = directory / f"state-{time.monotonic_ns()}"
        state.mkdir()
        config = state / "config.toml"
        config.write_text(daemon_toml(broker.port, panels, state, min_interval=min_interval))
        log_path = state / "daemon.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "e27bridge", "run", "--config", str(config),
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        try:
            yield Daemon(proc, log_path)
        finally:
            await terminate(proc)


# --------------------------------------------------------------------------- MQTT helpers


def client(port: int, identifier: str | None = None) -> aiomqtt.Client:
    mqtt = aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        max_queued_incoming_messages=0,
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),  # as the bridge
    )
    mqtt.pending_calls_threshold = 10_000  # 50 publishers share one client on purpose
    return mqtt


async def wait_ready(
    port: int, panel_ids: list[str], timeout: float, bridge: Daemon | None = None
) -> float:
    """Seconds until every panel's Homie ``$state`` is ``ready`` (retained counts).

    With ``bridge``, a daemon that exits first fails at once with its log's tail, instead
    of after the whole timeout.
    """
    waiting = asyncio.ensure_future(_wait_ready(port, panel_ids, timeout))
    if bridge is None:
        return await waiting
    exited = asyncio.ensure_future(bridge.proc.wait())
    await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
    if waiting.done():
        exited.cancel()
        return waiting.result()
    waiting.cancel()
    tail = bridge.log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"e27bridge run exited with {bridge.proc.returncode}:\n{tail}")


async def _wait_ready(port: int, panel_ids: list[str], timeout: float) -> float:
    start = time.monotonic()
    pending = set(panel_ids)
    async with client(port) as c:
        for pid in panel_ids:
            await c.subscribe(f"homie/5/{pid}/$state", qos=1)
        async with asyncio.timeout(timeout):
            async for message in c.messages:
                if message.payload == b"ready":
                    pending.discard(str(message.topic).split("/")[2])
                    if not pending:
                        break
    return time.monotonic() - start


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


__all__ = [
    "USER_PIN",
    "Control",
    "CpuMeter",
    "Daemon",
    "Mosquitto",
    "PanelInfo",
    "SimHost",
    "client",
    "daemon",
    "mosquitto",
    "ms",
    "panel_id",
    "percentile",
    "rss_mib",
    "simhost",
    "wait_ready",
]
