"""Every TCP connection the bridge and the simulator hold has TCP_NODELAY set.

Small request and publish frames must leave at once: with Nagle's algorithm on, each one
waits for the peer's delayed ACK (about 40 ms on Linux), which caps commands at a few
dozen per second. The daemon and the simulator run in this process, so every connected
TCP socket of the process is theirs (mosquitto is a subprocess).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

from e2e.conftest import InProcessDaemon, daemon_toml, sim_config
from e27bridge.daemon.config import load_config
from e27bridge.panel.state import ConnectionState
from e27bridge.simulator.runner import run_simulator
from mqtt.conftest import Broker


def connected_tcp_sockets() -> dict[int, bool]:
    """fd -> TCP_NODELAY for every connected TCP socket of this process."""
    found: dict[int, bool] = {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        with contextlib.suppress(OSError):
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=fd)
            try:
                if sock.type != socket.SOCK_STREAM or sock.family not in (
                    socket.AF_INET,
                    socket.AF_INET6,
                ):
                    continue
                try:
                    sock.getpeername()
                except OSError:
                    continue  # listening or not connected
                found[fd] = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            finally:
                sock.detach()
    return found


async def test_bridge_and_simulator_sockets_set_tcp_nodelay(broker: Broker, tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    async with run_simulator(sim_config()) as sim:
        config_path = tmp_path / "config.toml"
        config_path.write_text(daemon_toml(broker, sim, state_dir))
        runner = InProcessDaemon(load_config(config_path, env={}))
        await runner.start()
        try:
            owner = next(iter(runner.daemon.manager.panels.values()))
            await owner.wait_state(ConnectionState.READY, 15)
            bridge = runner.daemon.bridge
            async with asyncio.timeout(10):
                while not (bridge.conn.connected and bridge.state_conn.connected):
                    await asyncio.sleep(0.02)
            sockets = connected_tcp_sockets()
            # panel session (both ends) and the two MQTT connections at least
            assert len(sockets) >= 4, sockets
            assert all(sockets.values()), sockets
        finally:
            await runner.stop()
