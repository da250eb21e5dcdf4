"""Start and stop a whole simulated panel (TCP, UDP discovery, control channel) in-process.

Usage from tests (everything on free loopback ports when the config's ports are 0)::

    from e27bridge.simulator.config import profile_config
    from e27bridge.simulator.runner import run_simulator, loopback_config

    async with run_simulator(loopback_config(profile_config("small"))) as sim:
        sim.host, sim.port, sim.discovery_port, sim.mac     # where and who the panel is
        sim.control                                         # "127.0.0.1:PORT", path or None
        sim.panel.set_zone(3, "open", sim.now()); sim.panel_changed()
        sim.set_zone(3, "open")                             # same, broadcasts sent
        sim.faults.response_delay = 0.2                     # or sim.set_faults(...)
        sim.stats.in_flight_violations                      # live counters
        sim.stats_snapshot()                                # JSON-able, with domain counts
        await sim.restart(down_for=1.0)                     # port closed 1 s, same port again
        await sim.move_to_port(0)                           # IP change: new port, same MAC
        sim.revoke_link("001122334455", close_sessions=True)
        sim.change_mac("0050C2E27002")

The ``Simulator`` object is the Python API; the control channel (control.py) is a thin
JSON-lines front end over the same methods.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

from e27bridge.protocol.discovery import build_reply, normalize_mac
from e27bridge.protocol.identity import LinkKeys
from e27bridge.simulator.config import SimulatorConfig
from e27bridge.simulator.control import ControlServer
from e27bridge.simulator.discovery import DiscoveryResponder, start_discovery
from e27bridge.simulator.faults import FaultState
from e27bridge.simulator.panel import SimulatedPanel
from e27bridge.simulator.server import PanelServer, ServerSettings
from e27bridge.simulator.stats import ServerStats

log = structlog.get_logger("e27bridge.simulator.runner")

# The fault dice use their own stream so panel behaviour stays the same with or without faults.
_FAULT_SEED_SALT = 0x5EED


def loopback_config(config: SimulatorConfig) -> SimulatorConfig:
    """``config`` on 127.0.0.1 with free TCP and UDP ports (for tests)."""
    network = dataclasses.replace(config.network, host="127.0.0.1", port=0, discovery_port=0)
    return dataclasses.replace(config, network=network)


class Simulator:
    """A running simulated panel. Create it with ``run_simulator``."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.mac = config.identity.mac
        seed = config.seed
        self.panel = SimulatedPanel(config, now=self.now(), rng=random.Random(seed))
        self.faults = FaultState.from_config(config.faults)
        fault_rng = random.Random(None if seed is None else seed ^ _FAULT_SEED_SALT)
        behaviour = config.behaviour
        settings = ServerSettings(
            access_code=config.credentials.access_code,
            passphrase=config.credentials.passphrase,
            host=config.network.host,
            port=config.network.port,
            link_slots=config.credentials.link_slots,
            max_sessions=behaviour.max_sessions,
            session_policy=behaviour.session_policy,
            strict=behaviour.strict,
            idle_timeout=behaviour.idle_timeout,
        )
        self.server = PanelServer(
            self.panel, settings, faults=self.faults, stats=ServerStats(), rng=fault_rng
        )
        self._discovery: DiscoveryResponder | None = None
        self._control: ControlServer | None = None

    # -- where and who ---------------------------------------------------------------------

    @staticmethod
    def now() -> float:
        """The panel clock (monotonic seconds), as passed to every panel call."""
        return time.monotonic()

    @property
    def host(self) -> str:
        return self.config.network.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def discovery_port(self) -> int:
        return self._discovery.port if self._discovery is not None else 0

    @property
    def control(self) -> str | None:
        return self._control.address if self._control is not None else None

    @property
    def stats(self) -> ServerStats:
        return self.server.stats

    def stats_snapshot(self) -> dict[str, Any]:
        snapshot = self.stats.snapshot(self.panel.domain_counts())
        snapshot["links"] = len(self.server.links)
        return snapshot

    def describe(self) -> dict[str, Any]:
        """Where it listens, who it is and the (test) credentials in use."""
        users = self.config.inventory.users
        return {
            "host": self.host,
            "port": self.port,
            "discovery_port": self.discovery_port,
            "control": self.control,
            "mac": self.mac,
            "name": self.config.identity.name,
            "profile": self.config.profile,
            "access_code": self.config.credentials.access_code,
            "passphrase": self.config.credentials.passphrase,
            "user_pin": self.config.user1_pin(),
            "users": len(users),
            "listening": self.server.listening,
        }

    def announcement(self) -> bytes | None:
        if not self.server.listening:
            return None
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        identity = self.config.identity
        return build_reply(
            name=identity.name,
            mac=self.mac,
            ipv4=host,
            port=self.port,
            tls_port=self.config.network.tls_port,
            serial=identity.serial,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, control: str | None = None) -> None:
        await self.server.start()
        try:
            network = self.config.network
            self._discovery = await start_discovery(
                network.host, network.discovery_port, self.announcement
            )
            if control:
                self._control = ControlServer(self)
                await self._control.start(control)
        except BaseException:
            await self.close()
            raise
        log.info("sim_started", **{k: v for k, v in self.describe().items() if k in _LOGGABLE})

    async def close(self) -> None:
        if self._control is not None:
            await self._control.close()
            self._control = None
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        await self.server.close()

    # -- panel hooks (state change + broadcasts) --------------------------------------------

    def panel_changed(self) -> None:
        """Send queued broadcasts and re-arm the timer after a direct ``sim.panel`` call."""
        self.server.panel_changed()

    def set_zone(self, zone_id: int, state: str) -> None:
        self.panel.set_zone(zone_id, state, self.now())
        self.panel_changed()

    def trigger_alarm(self, area_id: int, zone_id: int | None = None) -> None:
        self.panel.trigger_alarm(area_id, zone_id, self.now())
        self.panel_changed()

    def set_trouble(self, name: str, active: bool) -> None:
        self.panel.set_trouble(name, active, self.now())
        self.panel_changed()

    # -- faults ----------------------------------------------------------------------------

    def set_faults(self, **values: Any) -> None:
        self.faults.update(values)

    def clear_faults(self) -> None:
        self.faults.clear()

    async def restart(self, down_for: float) -> None:
        """Panel restart: every session dropped, port closed ``down_for`` s, then reopened."""
        await self.server.restart(down_for)

    async def move_to_port(self, port: int = 0) -> int:
        """IP change: stop listening, listen on ``port`` (0 = free); MAC unchanged."""
        return await self.server.move_to_port(port)

    def revoke_link(self, sn: str | None = None, *, close_sessions: bool = False) -> list[str]:
        """Forget one client's link (or all); its next HELLO gets 11006 invalid_id."""
        return self.server.revoke_link(sn, close_sessions=close_sessions)

    def add_link(self, sn: str, keys: LinkKeys) -> bool:
        """Pre-link a client identity (saves an ``api_link`` round in tests)."""
        return self.server.links.add(sn, keys)

    def change_mac(self, mac: str, *, drop_sessions: bool = True) -> str:
        """Become a panel with another MAC (discovery reports it from now on)."""
        self.mac = normalize_mac(mac)
        self.stats.faults_injected["change_mac"] += 1
        if drop_sessions:
            self.server.drop_sessions("mac_changed")
        return self.mac

    def drop_sessions(self) -> int:
        return self.server.drop_sessions("dropped")


_LOGGABLE = ("host", "port", "discovery_port", "control", "mac", "name", "profile")


@asynccontextmanager
async def run_simulator(
    config: SimulatorConfig, *, control: str | None = None
) -> AsyncIterator[Simulator]:
    """Run a simulator for the duration of the ``async with`` block."""
    sim = Simulator(config)
    await sim.start(control)
    try:
        yield sim
    finally:
        await sim.close()
