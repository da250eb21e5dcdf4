"""UDP discovery responder: answers ``{"FIND":"ELKWCID"}`` probes with the panel's announcement.

The announcements are built on every probe from a callable, so a port move or a MAC change
made at run time shows up in the next reply (that is how clients rediscover a moved panel).
The callable returns one reply per panel that is up (several when one process simulates
several panels); a panel that is down (restarting) is missing and stays silent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import structlog

from e27bridge.protocol.discovery import is_probe

log = structlog.get_logger("e27bridge.simulator.discovery")

Announcements = Callable[[], list[bytes]]


class DiscoveryResponder(asyncio.DatagramProtocol):
    def __init__(self, announcements: Announcements) -> None:
        self._announcements = announcements
        self._transport: asyncio.DatagramTransport | None = None
        self.probes = 0
        self.ignored = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's selector datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not is_probe(data):
            self.ignored += 1
            return
        self.probes += 1
        if self._transport is None:
            return
        for reply in self._announcements():
            self._transport.sendto(reply, addr)
        log.debug("sim_discovery_reply", peer=f"{addr[0]}:{addr[1]}")

    def error_received(self, exc: Exception) -> None:
        log.warning("sim_discovery_error", error=str(exc))

    @property
    def port(self) -> int:
        assert self._transport is not None
        port: int = self._transport.get_extra_info("sockname")[1]
        return port

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


async def start_discovery(host: str, port: int, announcements: Announcements) -> DiscoveryResponder:
    """Bind the responder on ``host:port`` (0 = a free port); see ``.port`` for the result."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: DiscoveryResponder(announcements), local_addr=(host, port)
    )
    return protocol
