"""Runs N panel owners side by side; a dead or slow panel never delays another."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from e27bridge.panel.bus import EventBus, Subscription
from e27bridge.panel.owner import PanelOwner


class DuplicatePanelError(ValueError):
    """Two configured panels share a MAC (or an id): a configuration error."""


class PanelManager:
    def __init__(self, owners: Iterable[PanelOwner], bus: EventBus) -> None:
        owners = list(owners)
        for attribute in ("mac", "panel_id"):
            values = [getattr(owner, attribute) for owner in owners]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise DuplicatePanelError(f"panels share a {attribute}: {', '.join(duplicates)}")
        self._owners = {owner.panel_id: owner for owner in owners}
        self._bus = bus

    @property
    def panels(self) -> Mapping[str, PanelOwner]:
        return MappingProxyType(self._owners)

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()

    async def start(self) -> None:
        for owner in self._owners.values():
            await owner.start()

    async def stop(self) -> None:
        await asyncio.gather(*(owner.stop() for owner in self._owners.values()))
        self._bus.close()
