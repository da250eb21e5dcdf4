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

    async with run_simulator(config, state_file=path):      # remembers links and state
        ...

The ``Simulator`` object is the Python API; the control channel (control.py) is a thin
JSON-lines front end over the same methods.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
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
from e27bridge.simulator.statefile import PanelMemory
from e27bridge.simulator.statefile import load as load_memory
from e27bridge.simulator.statefile import save as save_memory
from e27bridge.simulator.stats import ServerStats

log = structlog.get_logger("e27bridge.simulator.runner")

# The fault dice use their own stream so panel behaviour stays the same with or without faults.
_FAULT_SEED_SALT = 0x5EED


def loopback_config(config: SimulatorConfig) -> SimulatorConfig:
    """``config`` on 127.0.0.1 with free TCP and UDP ports (for tests)."""
    network = dataclasses.replace(config.network, host="127.0.0.1", port=0, discovery_port=0)
    return dataclasses.replace(config, network=network)


class Simulator:
    """A running simulated panel. Create it with ``run_simulator`` (or ``run_fleet``).

    With a ``state_file`` the panel starts from the memory saved there and saves it again
    after every change a real panel would keep (statefile.py); ``keep_user_codes`` names
    users whose configured code wins over the saved one (``--user-pin``).
    """

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        state_file: Path | None = None,
        keep_user_codes: tuple[int, ...] = (),
    ) -> None:
        self.config = config
        self.mac = config.identity.mac
        self.state_file = state_file
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
        if state_file is not None:
            self._load(state_file, keep_user_codes)
            self.server.after_change = self._save_if_changed

    # -- memory ----------------------------------------------------------------------------

    def _load(self, path: Path, keep_user_codes: tuple[int, ...]) -> None:
        memory = load_memory(path, self.mac)
        if memory is None:
            return
        try:
            self.panel.restore(memory.panel, keep_user_codes=keep_user_codes)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: unusable panel state: {exc}") from None
        self.server.links.load(memory.links)
        log.info("sim_state_loaded", path=str(path), links=len(memory.links))

    def save(self) -> None:
        """Write the state file now (no-op without one)."""
        if self.state_file is None:
            return
        self.server.links.changed = False
        self.panel.take_dirty()
        memory = PanelMemory(self.mac, self.server.links.items(), self.panel.snapshot())
        save_memory(self.state_file, memory)

    def _save_if_changed(self) -> None:
        if self.panel.take_dirty() or self.server.links.changed:
            try:
                self.save()
            except OSError as exc:  # a full disk must not take the panel down
                log.error("sim_state_save_failed", path=str(self.state_file), error=str(exc))

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
            "user_pin": self.panel.user1_pin(),
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

    def announcements(self) -> list[bytes]:
        reply = self.announcement()
        return [] if reply is None else [reply]

    async def start(self, control: str | None = None, *, discovery: bool = True) -> None:
        """Listen; ``discovery=False`` when a fleet answers discovery for all its panels."""
        await self.server.start()
        try:
            network = self.config.network
            if discovery:
                self._discovery = await start_discovery(
                    network.host, network.discovery_port, self.announcements
                )
            if control:
                self._control = ControlServer([self])
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

    def keypad(self, action: str, entity_id: int, pin: int) -> int:
        code = self.panel.keypad(action, entity_id, pin, self.now())
        self.panel_changed()
        return code

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

    def set_behaviour(self, session_policy: str | None, strict: bool | None) -> dict[str, Any]:
        """Change the duplicate-session policy and/or strictness at run time."""
        if session_policy is not None:
            self.server.session_policy = "refuse" if session_policy == "refuse" else "replace"
        if strict is not None:
            self.server.strict = strict
        return {"session_policy": self.server.session_policy, "strict": self.server.strict}

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self.server.spawn(coro, name)


_LOGGABLE = ("host", "port", "discovery_port", "control", "mac", "name", "profile")


@asynccontextmanager
async def run_simulator(
    config: SimulatorConfig,
    *,
    control: str | None = None,
    state_file: Path | None = None,
    keep_user_codes: tuple[int, ...] = (),
) -> AsyncIterator[Simulator]:
    """Run a simulator for the duration of the ``async with`` block."""
    sim = Simulator(config, state_file=state_file, keep_user_codes=keep_user_codes)
    await sim.start(control)
    try:
        yield sim
    finally:
        await sim.close()
