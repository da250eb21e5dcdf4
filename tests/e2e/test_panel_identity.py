"""Regression: with a configured host the engine checks identity by unicast discovery and
must keep the panel's name and serial from that reply (they were dropped, so HA showed the
panel id as device name and Homie had no serial)."""

from __future__ import annotations

from e27bridge.panel.linking import link
from e27bridge.panel.owner import PanelOwner, PanelSettings
from e27bridge.protocol.identity import ClientIdentity
from e27bridge.simulator.runner import run_simulator

from .conftest import ACCESS_CODE, FAST_RECONNECT, FAST_TIMEOUTS, PASSPHRASE, sim_config


async def test_name_and_serial_come_from_the_identity_check() -> None:
    identity = ClientIdentity(sn="0A1B2C3D4E60")
    async with run_simulator(sim_config()) as sim:
        keys = await link(
            sim.host, sim.port, identity, access_code=ACCESS_CODE, passphrase=PASSPHRASE
        )
        settings = PanelSettings(
            panel_id="home",
            mac=sim.mac,
            host=sim.host,
            port=sim.port,
            discovery_port=sim.discovery_port,
            reconnect=FAST_RECONNECT,
            timeouts=FAST_TIMEOUTS,
        )
        owner = PanelOwner(settings, identity, keys)
        await owner.start()
        try:
            await owner.wait_ready(5)
            info = owner.snapshot.info
            assert info.name == sim.config.identity.name
            assert info.serial == sim.config.identity.serial
        finally:
            await owner.stop()
        assert sim.stats.in_flight_violations == 0
