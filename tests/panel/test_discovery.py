"""The discovery client over real UDP on loopback: broadcast probes and the replies to them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from e27bridge.panel.discovery import discover
from e27bridge.protocol.discovery import PROBE, build_reply

BROADCAST = "127.255.255.255"  # loopback's broadcast address: nothing leaves the host


@pytest.fixture
def panel_socket() -> Iterator[socket.socket]:
    """A stand-in panel listening on the loopback broadcast address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BROADCAST, 0))
    sock.setblocking(False)
    yield sock
    sock.close()


async def test_probe_to_a_broadcast_address_is_answered(panel_socket: socket.socket) -> None:
    """Sending to a broadcast address needs SO_BROADCAST; without it the probe never leaves."""
    loop = asyncio.get_running_loop()
    port = panel_socket.getsockname()[1]

    async def answer() -> None:
        probe, peer = await loop.sock_recvfrom(panel_socket, 512)
        assert probe == PROBE
        reply = build_reply(name="Loop", mac="0050c2e27009", ipv4="127.0.0.1", port=2101)
        await loop.sock_sendto(panel_socket, reply, peer)

    responder = asyncio.create_task(answer())
    found = await discover([(BROADCAST, port)], timeout=3.0, want_mac="0050C2E27009")
    if responder.done():
        await responder  # re-raises a wrong probe
    else:
        responder.cancel()  # the probe never arrived
    assert [(p.mac, p.name, p.host) for p in found] == [("0050C2E27009", "Loop", "127.0.0.1")]
