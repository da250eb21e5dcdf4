"""What the MQTT layer may use of the engine: read snapshots, follow events, submit commands.

The engine's ``PanelOwner`` and ``PanelManager`` implement these protocols; besides them the
MQTT layer uses only the data model (``state``, ``kinds``, ``events``, ``commands``) and the
bus's ``Subscription``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from e27bridge.panel.bus import Subscription
from e27bridge.panel.commands import Command, CommandResult
from e27bridge.panel.state import PanelSnapshot
from e27bridge.panel.tap import Tap


class PanelHandle(Protocol):
    @property
    def panel_id(self) -> str: ...

    @property
    def mac(self) -> str: ...

    @property
    def snapshot(self) -> PanelSnapshot: ...

    def subscribe(self) -> Subscription:
        """Events of this panel from now on (use ``snapshot`` for the current state)."""
        ...

    @property
    def taps(self) -> list[Tap]:
        """Listeners told of every request sent and message received, redacted (the tap)."""
        ...

    async def submit(self, command: Command) -> CommandResult:
        """Queue one user command on this panel's single queue and await its outcome."""
        ...


class PanelDirectory(Protocol):
    @property
    def panels(self) -> Mapping[str, PanelHandle]: ...

    def subscribe(self) -> Subscription:
        """Events of every panel."""
        ...
