"""Many simulated panels in one process (ADR-0211): ``simulate --panels N``.

Usage::

    from e27bridge.simulator.fleet import panel_configs, run_fleet

    async with run_fleet(panel_configs(config, 8), control="127.0.0.1:0") as fleet:
        fleet.panels[3].mac, fleet.panels[3].port, fleet.discovery_port
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from e27bridge.simulator.config import SimulatorConfig
from e27bridge.simulator.control import ControlServer
from e27bridge.simulator.discovery import DiscoveryResponder, start_discovery
from e27bridge.simulator.runner import Simulator


def panel_configs(base: SimulatorConfig, count: int) -> list[SimulatorConfig]:
    """``count`` independent panels from ``base``: MAC base+i, TCP port base+i (0 stays 0),
    numbered name and serial, seed base+i. They share the discovery port (one responder)."""
    if not 1 <= count <= 4096:
        raise ValueError("the number of panels must be 1..4096")
    first = int(base.identity.mac, 16)
    if first + count - 1 > 0xFFFFFFFFFFFF:
        raise ValueError("MAC range overflows; choose a lower --mac")
    out = []
    for i in range(count):
        identity = dataclasses.replace(
            base.identity,
            mac=f"{first + i:012X}",
            name=base.identity.name if count == 1 else f"{base.identity.name} #{i + 1}",
            serial=base.identity.serial if count == 1 else f"{base.identity.serial[:-4]}{i:04d}",
        )
        port = base.network.port + i if base.network.port else 0
        out.append(
            dataclasses.replace(
                base,
                identity=identity,
                network=dataclasses.replace(base.network, port=port),
                seed=None if base.seed is None else base.seed + i,
            )
        )
    return out


def state_files(path: Path | None, macs: Sequence[str]) -> list[Path | None]:
    """Per-panel state files: ``path`` itself for one panel, ``<stem>-<MAC><suffix>`` beside
    it for several."""
    if path is None:
        return [None] * len(macs)
    if len(macs) == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{mac}{path.suffix}") for mac in macs]


class Fleet:
    """Several simulated panels on one event loop: one discovery responder answers a probe
    with every panel's announcement, one control channel addresses them by MAC or index."""

    def __init__(
        self,
        configs: Sequence[SimulatorConfig],
        *,
        state_file: Path | None = None,
        keep_user_codes: tuple[int, ...] = (),
    ) -> None:
        files = state_files(state_file, [c.identity.mac for c in configs])
        self.panels = [
            Simulator(c, state_file=f, keep_user_codes=keep_user_codes)
            for c, f in zip(configs, files, strict=True)
        ]
        self._discovery: DiscoveryResponder | None = None
        self._control: ControlServer | None = None

    @property
    def discovery_port(self) -> int:
        return self._discovery.port if self._discovery is not None else 0

    @property
    def control(self) -> str | None:
        return self._control.address if self._control is not None else None

    def announcements(self) -> list[bytes]:
        return [reply for sim in self.panels if (reply := sim.announcement()) is not None]

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for sim in self.panels:
            info = sim.describe()
            info.update(discovery_port=self.discovery_port, control=self.control)
            out.append(info)
        return out

    async def start(self, control: str | None = None) -> None:
        try:
            await asyncio.gather(*(sim.start(discovery=False) for sim in self.panels))
            network = self.panels[0].config.network
            self._discovery = await start_discovery(
                network.host, network.discovery_port, self.announcements
            )
            if control:
                self._control = ControlServer(self.panels)
                await self._control.start(control)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._control is not None:
            await self._control.close()
            self._control = None
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        await asyncio.gather(*(sim.close() for sim in self.panels))


@asynccontextmanager
async def run_fleet(
    configs: Sequence[SimulatorConfig],
    *,
    control: str | None = None,
    state_file: Path | None = None,
    keep_user_codes: tuple[int, ...] = (),
) -> AsyncIterator[Fleet]:
    """Run several panels for the duration of the ``async with`` block."""
    fleet = Fleet(configs, state_file=state_file, keep_user_codes=keep_user_codes)
    await fleet.start(control)
    try:
        yield fleet
    finally:
        await fleet.close()
