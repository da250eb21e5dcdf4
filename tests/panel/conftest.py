"""Engine tests: real TCP and UDP to an in-process simulator, real AES."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from e27bridge.panel.bus import EventBus
from e27bridge.panel.linking import link
from e27bridge.panel.owner import PanelOwner, PanelSettings, ReconnectPolicy
from e27bridge.panel.queue import QueueSettings
from e27bridge.panel.session import SessionTimeouts
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.simulator.config import SimulatorConfig, profile_config
from e27bridge.simulator.runner import Simulator, loopback_config, run_simulator

IDENTITY = ClientIdentity(sn="0A1B2C3D4E5F")

FAST_RECONNECT = ReconnectPolicy(
    min_backoff=0.05,
    max_backoff=0.5,
    refused_backoff=0.3,
    discovery_timeout=0.6,
    verify_timeout=0.3,
    keepalive_after=30.0,
    keepalive_timeout=1.0,
)
FAST_QUEUE = QueueSettings(min_interval=0.0, request_timeout=1.0, backoff_base=0.05)


def sim_config(profile: str = "small", **behaviour: Any) -> SimulatorConfig:
    config = loopback_config(profile_config(profile))
    timings = dataclasses.replace(config.timings, time_scale=20.0)
    config = dataclasses.replace(config, timings=timings)
    if behaviour:
        config = dataclasses.replace(
            config, behaviour=dataclasses.replace(config.behaviour, **behaviour)
        )
    activity = dataclasses.replace(config.activity, enabled=False)
    return dataclasses.replace(config, activity=activity)


@dataclasses.dataclass(frozen=True)
class Linked:
    """Settings for one simulated panel and the link keys it just gave us."""

    settings: PanelSettings
    keys: LinkKeys


async def link_to(
    sim: Simulator,
    *,
    queue: QueueSettings = FAST_QUEUE,
    reconnect: ReconnectPolicy = FAST_RECONNECT,
    mac: str | None = None,
    panel_id: str = "home",
) -> Linked:
    creds = sim.config.credentials
    keys = await link(
        sim.host, sim.port, IDENTITY, access_code=creds.access_code, passphrase=creds.passphrase
    )
    settings = PanelSettings(
        panel_id=panel_id,
        mac=mac or sim.mac,
        host=sim.host,
        port=sim.port,
        discovery_port=sim.discovery_port,
        queue=queue,
        reconnect=reconnect,
        timeouts=SessionTimeouts(connect=1.0, hello=1.0, write=1.0),
    )
    return Linked(settings, keys)


async def linked_owner(
    sim: Simulator,
    *,
    queue: QueueSettings = FAST_QUEUE,
    reconnect: ReconnectPolicy = FAST_RECONNECT,
    mac: str | None = None,
    panel_id: str = "home",
    bus: EventBus | None = None,
) -> PanelOwner:
    linked = await link_to(sim, queue=queue, reconnect=reconnect, mac=mac, panel_id=panel_id)
    return PanelOwner(linked.settings, IDENTITY, linked.keys, bus=bus)


@asynccontextmanager
async def running(owner: PanelOwner) -> AsyncIterator[PanelOwner]:
    """A started owner whose panel is ready; stopped on exit."""
    await owner.start()
    try:
        await owner.wait_ready(10)
        yield owner
    finally:
        await owner.stop()


def record_requests(sim: Simulator) -> list[tuple[str, str | None]]:
    """Every (domain, command) the simulated panel handles from now on."""
    seen: list[tuple[str, str | None]] = []
    handle = sim.panel.handle

    def spy(request: Any, auth: Any, now: float) -> Any:
        seen.append((request.domain, request.command))
        return handle(request, auth, now)

    sim.panel.handle = spy  # type: ignore[method-assign]
    return seen


@pytest.fixture
def simulator() -> Callable[..., AbstractAsyncContextManager[Simulator]]:
    @asynccontextmanager
    async def start(config: SimulatorConfig | None = None) -> AsyncIterator[Simulator]:
        async with run_simulator(config or sim_config()) as sim:
            yield sim
            assert sim.stats.in_flight_violations == 0

    return start
