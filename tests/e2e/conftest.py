"""End-to-end rig: real mosquitto, the simulator over TCP, and the whole daemon.

The daemon runs either as ``python -m e27bridge run --config FILE`` (a subprocess, exactly
what a user starts) or in-process as ``Daemon(config).run()`` (cheaper, and lets a test
shorten the reconnect policy). The simulator always runs in this process on free loopback
ports, so tests can change the panel and read its counters; every test ends by checking
that the bridge never had two requests in flight (``in_flight_violations == 0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiomqtt
import pytest

from e27bridge.app import Daemon
from e27bridge.daemon.config import Config, load_config
from e27bridge.panel.owner import ReconnectPolicy
from e27bridge.panel.session import SessionTimeouts
from e27bridge.simulator.config import SimulatorConfig, profile_config
from e27bridge.simulator.runner import Simulator, loopback_config, run_simulator
from mqtt.capture import Listener, Received
from mqtt.conftest import Broker
from mqtt.schemas import event_errors
from waiting import wait_until

PANEL = "home"
H = f"homie/5/{PANEL}"
RESPONSE = f"e27bridge/{PANEL}/response"
HASS_CONFIG = f"homeassistant/device/{PANEL}/config"
ACCESS_CODE = "86420975"
PASSPHRASE = "e2e-link-passphrase"
PIN = 918273  # six digits: never a substring of a port number in a payload
WRONG_PIN = 135791
TIME_SCALE = 100.0  # exit delay 0.6 s, barrier travel 0.12 s
SEED = 27

FAST_RECONNECT = ReconnectPolicy(
    min_backoff=0.05,
    max_backoff=0.3,
    refused_backoff=0.3,
    discovery_timeout=0.6,
    verify_timeout=0.2,
    keepalive_after=30.0,
    keepalive_timeout=1.0,
)
FAST_TIMEOUTS = SessionTimeouts(connect=1.0, hello=1.0, write=1.0)


def sim_config(**inventory_changes: Any) -> SimulatorConfig:
    """The small profile, deterministic (seed), fast (time scale), with our secrets."""
    config = loopback_config(profile_config("small")).with_user_pin(PIN)
    config = dataclasses.replace(
        config,
        seed=SEED,
        timings=dataclasses.replace(config.timings, time_scale=TIME_SCALE),
        activity=dataclasses.replace(config.activity, enabled=False),
        credentials=dataclasses.replace(
            config.credentials, access_code=ACCESS_CODE, passphrase=PASSPHRASE
        ),
    )
    if inventory_changes:
        inventory = dataclasses.replace(config.inventory, **inventory_changes)
        config = dataclasses.replace(config, inventory=inventory)
    return config


def daemon_toml(
    broker: Broker,
    sim: Simulator,
    state_dir: Path,
    command_max_age: float = 10.0,
    link: bool = True,
    extra: str = "",
    discovery_mode: str = "device",
    panel_extra: str = "",
    bridge: str = "",
) -> str:
    credentials = f'access_code = "{ACCESS_CODE}"\npassphrase = "{PASSPHRASE}"' if link else ""
    return (
        extra
        + f"""
[mqtt]
host = "127.0.0.1"
port = {broker.port}
reconnect_min_backoff = 0.05
reconnect_max_backoff = 0.3

[bridge]
state_dir = "{state_dir}"
ha_republish_delay = 0.05
discovery_mode = "{discovery_mode}"
{bridge}

[logging]
level = "DEBUG"
format = "json"

[queue]
min_interval = 0.0
request_timeout = 2.0
command_max_age = {command_max_age}

[[panels]]
id = "{PANEL}"
mac = "{sim.mac}"
host = "127.0.0.1"
port = {sim.port}
discovery_port = {sim.discovery_port}
{credentials}
{panel_extra}
"""
    )


class DaemonRunner(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> int | None: ...


class SubprocessDaemon:
    """``python -m e27bridge run --config FILE``; stopped with SIGTERM like systemd does."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.killed = False

    def kill(self) -> None:
        """Abrupt death (SIGKILL): no goodbye, only the broker's wills."""
        assert self.proc is not None
        self.proc.kill()
        self.killed = True

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "e27bridge",
                "run",
                "--config",
                str(self.config_path),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 5)  # systemd's budget (issue 6)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError("the daemon did not stop within 5 s of SIGTERM") from None
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class InProcessDaemon:
    """``Daemon(config).run()`` in this event loop, with a short reconnect policy."""

    def __init__(self, config: Config) -> None:
        self.daemon = Daemon(config)
        for owner in self.daemon.manager.panels.values():
            owner.settings = dataclasses.replace(
                owner.settings, reconnect=FAST_RECONNECT, timeouts=FAST_TIMEOUTS
            )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.daemon.run(), name="e2e-daemon")
        await asyncio.sleep(0)  # run() installs its SIGTERM/SIGINT handlers...
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)  # ...which belong to pytest here

    async def stop(self) -> int | None:
        if self.task is None:
            return None
        self.daemon.request_stop()
        await asyncio.wait_for(self.task, 10)
        return 0


@dataclass
class Stack:
    broker: Broker
    sim: Simulator
    listener: Listener
    config_path: Path
    state_dir: Path
    daemon: DaemonRunner
    retired: list[Simulator] = field(default_factory=list)
    ready_topic: str = f"{H}/$state"  # the Homie 4 device's with homie_versions = [4]

    @property
    def simulators(self) -> list[Simulator]:
        return [*self.retired, self.sim]

    async def send(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        await publish(self.broker.port, topic, payload, retain=retain)

    async def command(self, topic: str, payload: str | bytes) -> tuple[int, dict[str, Any]]:
        """Publish a ``/set`` and return (mark, the first result on the response topic)."""
        mark = self.listener.mark()
        await self.send(topic, payload)
        reply = await self.listener.wait_topic(RESPONSE, start=mark, timeout=8)
        return mark, reply.json()

    async def value(self, topic: str, payload: bytes, start: int, timeout: float = 8) -> Received:
        return await self.listener.wait_topic(topic, payload, start=start, timeout=timeout)

    def responses(self, start: int) -> list[dict[str, Any]]:
        return [m.json() for m in self.listener.messages[start:] if m.topic == RESPONSE]

    async def engine_idle(self) -> None:
        """Every panel's queue is empty with nothing in flight (in-process daemon only)."""
        assert isinstance(self.daemon, InProcessDaemon), "needs the in-process daemon"
        owners = list(self.daemon.daemon.manager.panels.values())
        await wait_until(
            lambda: all(o.live_health.queue_depth == 0 for o in owners), "an idle engine"
        )

    async def wait_ready(self, start: int = 0, timeout: float = 45) -> None:
        """The panel device is ``ready`` again (after ``start``, a listener mark); patient,
        since a daemon subprocess starting on a loaded machine takes its time."""
        await self.value(self.ready_topic, b"ready", start, timeout)

    async def restart_daemon(self) -> None:
        """Stop the daemon and start a new one on the same config and state directory."""
        code = await self.daemon.stop()
        assert code == 0 or getattr(self.daemon, "killed", False), f"daemon exit code {code}"
        if isinstance(self.daemon, SubprocessDaemon):
            self.daemon = SubprocessDaemon(self.config_path, self.daemon.log_path)
        else:
            self.daemon = InProcessDaemon(load_config(self.config_path, env={}))
        await self.daemon.start()

    async def replace_panel(self, config: SimulatorConfig) -> Simulator:
        """The panel restarts with ``config`` (e.g. another inventory): same MAC, same ports,
        and the link it had (so the bridge keeps its keys)."""
        old = self.sim
        links = {sn: old.server.links.get(sn) for sn in old.server.links.sns()}
        network = dataclasses.replace(
            config.network, port=old.port, discovery_port=old.discovery_port
        )
        await old.close()
        self.retired.append(old)
        sim = Simulator(dataclasses.replace(config, network=network))
        for sn, keys in links.items():
            assert keys is not None
            sim.add_link(sn, keys)
        await sim.start()
        self.sim = sim
        return sim


async def publish(port: int, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.publish(topic, payload, qos=1, retain=retain)


StackFactory = Callable[..., contextlib.AbstractAsyncContextManager[Stack]]


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def stack(broker: Broker, tmp_path: Path) -> StackFactory:
    """``async with stack(subprocess=True) as s:``: everything up and the panel ready."""

    @contextlib.asynccontextmanager
    async def start(
        *,
        subprocess: bool = False,
        config: SimulatorConfig | None = None,
        command_max_age: float = 10.0,
        link: bool = True,
        extra_config: str = "",
        discovery_mode: str = "device",
        panel_config: str = "",  # lines added to the panel's [[panels]] table
        bridge_config: str = "",  # lines added to [bridge]
    ) -> AsyncIterator[Stack]:
        state_dir = tmp_path / "state"
        state_dir.mkdir(exist_ok=True)
        async with run_simulator(config or sim_config()) as sim:
            config_path = tmp_path / "config.toml"
            config_path.write_text(
                daemon_toml(
                    broker,
                    sim,
                    state_dir,
                    command_max_age,
                    link,
                    extra_config,
                    discovery_mode,
                    panel_config,
                    bridge_config,
                )
            )
            daemon: DaemonRunner
            if subprocess:
                daemon = SubprocessDaemon(config_path, tmp_path / "daemon.log")
            else:
                daemon = InProcessDaemon(load_config(config_path, env={}))
            async with Listener(broker.port) as listener:
                s = Stack(broker, sim, listener, config_path, state_dir, daemon)
                if "homie_versions = [4]" in bridge_config:
                    s.ready_topic = f"homie/{PANEL}/$state"
                await daemon.start()
                try:
                    if link:
                        await s.wait_ready()
                        if discovery_mode == "device":
                            await listener.wait_topic(HASS_CONFIG, timeout=20)
                    yield s
                finally:
                    code = await s.daemon.stop()
                    if s.sim is not sim:
                        await s.sim.close()
                assert_events_valid(listener.messages)
                if subprocess:
                    assert code == 0, f"daemon exit code {code}"
            for each in s.simulators:
                assert each.stats.in_flight_violations == 0

    return start


def assert_events_valid(messages: list[Received]) -> None:
    """Every event the test saw on ``<base>/<panel>/event`` fits events.schema.json."""
    for message in messages:
        if message.topic.startswith("e27bridge/") and message.topic.endswith("/event"):
            assert event_errors(message.json()) == [], message.payload


def loads(message: Received) -> Any:
    return json.loads(message.payload)
