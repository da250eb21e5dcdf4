"""Where our panel is, and whether that address was verified by its MAC.

ADR-0003: before each connect the last host is asked who it is; another MAC there is never
used. ADR-0007: only a verified address may pass a verdict on our link. Rediscovery by MAC
probes the last host, the configured host and the broadcast targets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import structlog

from e27bridge.panel import discovery
from e27bridge.protocol.discovery import PanelAnnouncement
from e27bridge.protocol.errors import E27Error, TransportError
from e27bridge.protocol.hello import HelloLinkRequired, HelloNoSession, HelloOutcome

log = structlog.get_logger("e27bridge.panel")


class HintStore(Protocol):
    def save_host_hint(self, mac: str, host: str, port: int) -> object: ...


class IdentityMismatchError(E27Error):
    """Another panel (MAC) answers at the expected address."""


class PanelLocator:
    def __init__(
        self,
        *,
        panel_id: str,
        mac: str,
        host: str | None,
        port: int,
        configured_host: str | None,
        discovery_port: int,
        broadcast: tuple[str, ...],
        discovery_timeout: float,
        verify_timeout: float,
        hints: HintStore | None = None,
        on_found: Callable[[PanelAnnouncement], None] | None = None,
    ) -> None:
        self.panel_id = panel_id
        self.mac = mac
        self.host = host
        self.port = port
        self.verified = False  # the current host answered discovery with our MAC
        self._configured_host = configured_host
        self._discovery_port = discovery_port
        self._broadcast = broadcast
        self._discovery_timeout = discovery_timeout
        self._verify_timeout = verify_timeout
        self._hints = hints
        self._on_found = on_found

    async def locate(self, *, rediscover: bool) -> tuple[str, int]:
        """Check the last host, or find the panel by MAC; returns where to connect."""
        if rediscover or self.host is None:
            try:
                await self.rediscover()
            except TransportError:
                if self.host is None:
                    raise
                # Nothing answered (UDP filtered?): the last host, checked like any connect;
                # another MAC there is still refused, silence leaves it unverified.
                await self.verify()
        else:
            await self.verify()
        assert self.host is not None
        return self.host, self.port

    async def verify(self) -> None:
        """Ask the last host who it is; no reply leaves it unverified but usable."""
        assert self.host is not None
        replies = await discovery.discover(
            [(self.host, self._discovery_port)], timeout=self._verify_timeout, first_only=True
        )
        mine = next((r for r in replies if r.mac == self.mac), None)
        self.verified = mine is not None
        if mine is not None:
            self._found(mine)
        elif replies:
            raise IdentityMismatchError(
                f"{self.host} answers as {replies[0].mac}, not {self.mac}; not connecting"
            )
        else:
            log.debug("identity_unverified", panel=self.panel_id, host=self.host)

    async def rediscover(self) -> None:
        port = self._discovery_port
        targets = [(h, port) for h in self._broadcast]
        if self.host is not None:
            targets.insert(0, (self.host, port))
        if self._configured_host is not None and self._configured_host != self.host:
            targets.append((self._configured_host, port))
        if not targets:
            targets = [("255.255.255.255", port)]
        replies = await discovery.discover(
            targets, timeout=self._discovery_timeout, want_mac=self.mac
        )
        if not replies:
            raise TransportError(f"panel {self.mac} not found by discovery")
        self.verified = True  # only replies carrying our MAC are kept
        self._found(replies[0])

    def _found(self, found: PanelAnnouncement) -> None:
        """Our panel answered: keep where it is (persisted as a hint)."""
        if (found.host, found.port) != (self.host, self.port):
            log.info("panel_found", panel=self.panel_id, host=found.host, port=found.port)
            self.host, self.port = found.host, found.port
            if self._hints is not None:
                self._hints.save_host_hint(self.mac, found.host, found.port)
        if self._on_found is not None:
            self._on_found(found)


def refusal_reason(outcome: HelloOutcome, host: str | None) -> str:
    """Why a HELLO gave no session, for ``last_error`` and the log."""
    if isinstance(outcome, HelloNoSession):
        return "another client holds this link (HELLO without session)"
    code = getattr(outcome, "code", "?")
    if isinstance(outcome, HelloLinkRequired):  # ADR-0007: no verdict without identity
        return (
            f"HELLO refused ({code}) at {host}, whose MAC is not verified: "
            "looking for the panel by MAC (if it is ours, its link was revoked)"
        )
    return f"HELLO refused ({code})"
