"""UDP discovery client: find panels by probe, and find one panel again by its MAC."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from e27bridge.protocol.discovery import PROBE, PanelAnnouncement, parse_reply


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[PanelAnnouncement] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        announcement = parse_reply(data, str(addr[0]))
        if announcement is not None:
            self.replies.put_nowait(announcement)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable etc.: keep listening
        pass


async def discover(
    targets: list[tuple[str, int]],
    *,
    timeout: float = 3.0,
    want_mac: str | None = None,
    first_only: bool = False,
    resend_every: float | None = None,
) -> list[PanelAnnouncement]:
    """Probe every target (unicast or broadcast address, port) and collect replies.

    With ``want_mac`` the scan ends as soon as that panel answers, and only it is returned;
    with ``first_only`` it ends at the first reply of any panel (a unicast identity check).
    """
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        _Collector,
        local_addr=("0.0.0.0", 0),  # noqa: S104 - broadcast replies come from anywhere
        family=socket.AF_INET,
        allow_broadcast=True,
    )
    found: dict[str, PanelAnnouncement] = {}
    interval = resend_every or max(timeout / 3, 0.2)
    deadline = loop.time() + timeout
    try:
        next_probe = loop.time()
        while (now := loop.time()) < deadline:
            if now >= next_probe:
                for target in targets:
                    with contextlib.suppress(OSError):
                        transport.sendto(PROBE, target)
                next_probe = now + interval
            wait = min(deadline, next_probe) - now
            try:
                reply = await asyncio.wait_for(collector.replies.get(), max(wait, 0.01))
            except TimeoutError:
                continue
            if want_mac is None:
                found.setdefault(reply.mac, reply)
                if first_only:
                    break
            elif reply.mac == want_mac:
                return [reply]
    finally:
        transport.close()
    return list(found.values())
