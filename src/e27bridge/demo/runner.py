"""Run the whole demo in one process: simulated panel, broker (embedded or given), bridge.

The bridge is the real ``Daemon`` with a generated configuration: its state directory is a
temporary directory, and its one panel is the simulator with the simulator's test access
code and passphrase, so the bridge links itself on first start exactly as a fresh install
with credentials in its config file would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import structlog

from e27bridge.app import Daemon
from e27bridge.daemon.config import BridgeConfig, Config, MqttConfig, PanelConfig, QueueConfig
from e27bridge.demo.broker import BrokerAddress, clear_retained, demo_broker
from e27bridge.demo.liveview import follow
from e27bridge.simulator.config import ActivityConfig, SimulatorConfig, profile_config
from e27bridge.simulator.runner import Simulator, loopback_config, run_simulator

log = structlog.get_logger("e27bridge.demo")

LOOPBACK = "127.0.0.1"
DEMO_BRIDGE_ID = "e27bridge-demo"  # never the default id: a real bridge may share the broker
DEMO_BASE_TOPIC = "e27bridge-demo"

# Household activity at time scale 1: a zone opens every 5 s on average, for 2-10 s.
ACTIVITY_RATE = 0.2
ACTIVITY_HOLD = (2.0, 10.0)

Writer = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    profile: str = "large"
    time_scale: float = 1.0
    activity: bool = True
    broker: BrokerAddress | None = None  # None: start mosquitto (or amqtt) for the demo
    duration: float | None = None  # seconds; None: until SIGINT/SIGTERM
    state_dir: Path | None = None  # the demo's memory; None: default_state_dir()


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/e27bridge-demo`` (``~/.local/state/e27bridge-demo``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "e27bridge-demo"


def prepare_state_dir(path: Path) -> tuple[Path, Path]:
    """(the bridge's state directory, the simulated panel's state file), both under ``path``
    (0700): a restarted demo keeps the link and the panel's state (ADR-0210)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    bridge = path / "bridge"
    bridge.mkdir(mode=0o700, exist_ok=True)
    return bridge, path / "panel.json"


def simulator_config(options: DemoOptions) -> SimulatorConfig:
    """The profile's panel on free loopback ports; activity speeds up with the time scale."""
    config = loopback_config(profile_config(options.profile))
    scale = options.time_scale
    activity = ActivityConfig(
        enabled=options.activity,
        zone_change_rate=ACTIVITY_RATE * scale if options.activity else 0.0,
        hold_min=ACTIVITY_HOLD[0] / scale,
        hold_max=ACTIVITY_HOLD[1] / scale,
    )
    timings = dataclasses.replace(config.timings, time_scale=scale)
    return dataclasses.replace(config, activity=activity, timings=timings)


def bridge_config(
    sim: Simulator, broker: BrokerAddress, state_dir: Path, *, time_scale: float
) -> Config:
    """The daemon configuration a user would write for this panel, plus its credentials.

    The request pacing follows the time scale, like the panel's timers, so a scaled demo also
    bootstraps faster (about 300 requests for the large profile).
    """
    credentials = sim.config.credentials
    panel = PanelConfig.model_validate(
        {
            "mac": sim.mac,
            "host": sim.host,
            "port": sim.port,
            "discovery_port": sim.discovery_port,
            "access_code": credentials.access_code,
            "passphrase": credentials.passphrase,
        }
    )
    # amqtt speaks MQTT 3.1.1 only; saying so up front avoids a failed MQTT 5 attempt.
    mqtt = MqttConfig(
        host=broker.host,
        port=broker.port,
        protocol=broker.protocol,
        reconnect_min_backoff=0.5,
        reconnect_max_backoff=5.0,
    )
    bridge = BridgeConfig(
        id=DEMO_BRIDGE_ID,
        base_topic=DEMO_BASE_TOPIC,
        state_dir=state_dir,
        ha_republish_delay=1.0,
    )
    queue = QueueConfig(min_interval=QueueConfig().min_interval / time_scale)
    return Config(mqtt=mqtt, bridge=bridge, queue=queue, panels=[panel])


def demo_topics(config: Config) -> list[str]:
    """Topic filters covering every retained message the demo's bridge publishes."""
    homie = f"{config.bridge.homie_prefix}/5"
    filters = [f"{homie}/{config.bridge.id}/#", f"{config.bridge.base_topic}/#"]
    for panel in config.panels:
        filters += [
            f"{homie}/{panel.id}/#",
            f"{config.bridge.discovery_prefix}/device/{panel.id}/config",
        ]
    return filters


def banner(sim: Simulator, broker: BrokerAddress, config: Config) -> list[str]:
    """How to watch and poke the demo, printed once at start."""
    host, port = broker.host, broker.port
    panel_id = config.panels[0].id
    homie = f"{config.bridge.homie_prefix}/5"
    discovery = config.bridge.discovery_prefix
    pin = sim.describe()["user_pin"]
    sub = f"mosquitto_sub -h {host} -p {port} -v -t"
    pub = f"mosquitto_pub -h {host} -p {port} -t"
    lines = [
        f"e27bridge demo: panel {sim.config.identity.name!r} (MAC {sim.mac}) "
        f"simulated at {sim.host}:{sim.port}",
        f"MQTT: mqtt://{host}:{port} ({broker.label})",
        f"Homie panel device: {homie}/{panel_id}   bridge: {homie}/{config.bridge.id}",
        f"Home Assistant discovery: {discovery}/device/{panel_id}/config "
        f"(discovery prefix '{discovery}')",
        "",
        "Watch the topics:",
        f"  {sub} '{homie}/#'",
        f"  {sub} '{discovery}/#'",
        f"  {sub} '{config.bridge.base_topic}/#'",
        f"Send a command (the answer arrives on {config.bridge.base_topic}/{panel_id}/response):",
        f"  {pub} '{homie}/{panel_id}/output-1/on/set' -m true",
    ]
    if pin is not None:
        lines.append(
            f"  {pub} '{homie}/{panel_id}/area-1/command/set' "
            f'-m \'{{"action": "arm_away", "code": "{pin}"}}\''
        )
    lines += ["", "Live view (the bridge links itself and reads the panel first; Ctrl-C stops):"]
    return lines


@contextlib.asynccontextmanager
async def _broker(options: DemoOptions) -> AsyncIterator[BrokerAddress]:
    if options.broker is not None:
        yield options.broker
        return
    async with demo_broker(LOOPBACK) as address:
        yield address


async def run_demo(options: DemoOptions, write: Writer) -> None:
    """Run until SIGINT/SIGTERM (or ``options.duration``); then stop everything in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    state_dir, panel_state = prepare_state_dir(options.state_dir or default_state_dir())
    async with (
        _broker(options) as broker,
        run_simulator(simulator_config(options), state_file=panel_state) as sim,
    ):
        config = bridge_config(sim, broker, state_dir, time_scale=options.time_scale)
        daemon = Daemon(config)
        for line in banner(sim, broker, config):
            write(line)
        write(f"State (link keys, panel memory): {state_dir.parent}")
        try:
            await _serve(daemon, options, stop, write)
        finally:
            if options.broker is not None:  # a broker of our own goes away with its data
                await _tidy(broker, config, write)
    write("stopped")


async def _tidy(broker: BrokerAddress, config: Config, write: Writer) -> None:
    """Leave the user's broker as the demo found it: no retained demo topics."""
    try:
        cleared = await clear_retained(broker, demo_topics(config))
    except (aiomqtt.MqttError, OSError) as exc:
        log.warning("demo_cleanup_failed", broker=f"{broker.host}:{broker.port}", error=str(exc))
        return
    write(f"removed the demo's {len(cleared)} retained topics from {broker.host}:{broker.port}")


async def _serve(daemon: Daemon, options: DemoOptions, stop: asyncio.Event, write: Writer) -> None:
    panels = daemon.manager.panels
    view = asyncio.create_task(
        follow(
            daemon.manager.subscribe(),
            write,
            lambda pid: panels[pid].snapshot if pid in panels else None,
        ),
        name="e27-demo-view",
    )
    running = asyncio.create_task(daemon.run(), name="e27-demo-daemon")
    # Daemon.run takes over SIGINT/SIGTERM; both paths end up in request_stop.
    stopper = asyncio.create_task(_stop_after(stop, options.duration), name="e27-demo-stop")
    try:
        await asyncio.wait({running, stopper}, return_when=asyncio.FIRST_COMPLETED)
        daemon.request_stop()
        await running  # re-raises a bridge failure
    finally:
        stopper.cancel()
        if not running.done():
            daemon.request_stop()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await running
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(1.0):
                await view  # the bus closes when the panels stop
        view.cancel()


async def _stop_after(stop: asyncio.Event, duration: float | None) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(duration):
            await stop.wait()
