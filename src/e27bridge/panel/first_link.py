"""First start only: link once with the configured access code and passphrase (ADR-0005).

A silent panel (wrong credentials) is a verdict: the linker is dropped and the panel waits
for `e27bridge link`. An unreachable panel keeps the linker for a later try. Anything else
(the key store failing) is a ``LinkerError``: an internal error for the supervisor, with
the linker kept so the restarted loop links again (re-linking an ``sn`` reuses its slot).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from e27bridge.panel.locator import PanelLocator
from e27bridge.protocol.errors import E27Error, LinkFailed
from e27bridge.protocol.identity import LinkKeys
from e27bridge.supervisor import describe

log = structlog.get_logger("e27bridge.panel")

Linker = Callable[[str, int], Awaitable[LinkKeys]]


class LinkerError(Exception):
    """The linker failed for a reason other than the panel (e.g. the key store): a bug or a
    broken installation, never a network failure to retry quietly."""


class FirstLink:
    def __init__(self, linker: Linker | None, locator: PanelLocator) -> None:
        self._linker = linker
        self._locator = locator

    @property
    def available(self) -> bool:
        return self._linker is not None

    async def link(self, *, rediscover: bool) -> LinkKeys:
        """Find the panel and link; ``LinkFailed`` ends the first start for good."""
        linker, self._linker = self._linker, None
        assert linker is not None, "no linker (check `available`)"
        try:
            host, port = await self._locator.locate(rediscover=rediscover)
        except (E27Error, OSError):
            self._linker = linker  # the panel was not reachable: try again later
            raise
        log.info("linking", panel=self._locator.panel_id, host=host, port=port)
        try:
            return await linker(host, port)
        except LinkFailed:
            raise
        except E27Error:
            self._linker = linker
            raise
        except Exception as exc:
            self._linker = linker
            raise LinkerError(f"linking {self._locator.panel_id} failed: {describe(exc)}") from exc
