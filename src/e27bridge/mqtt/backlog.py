"""A renderer that lags renders the newest state, not every step on the way to it.

Homie and the HA config follow snapshots. When several are queued, a snapshot followed by
a newer one of the same panel in the same connection state says nothing the newer one does
not (every value in it is newer), so it is skipped: a burst publishes each property's
latest value once and the renderer never falls behind. Snapshots in another connection
state are kept, so ``$state`` still walks through every state (``init`` before ``ready``).
"""

from __future__ import annotations

from collections.abc import Sequence

from e27bridge.panel.events import ConnectionChanged, EngineEvent, SnapshotReplaced
from e27bridge.panel.state import ConnectionState


def latest_states(events: Sequence[EngineEvent]) -> list[EngineEvent]:
    """``events`` in order, without snapshots that a later one of the same panel (same
    connection state, no connection change between them) supersedes."""
    kept: list[EngineEvent] = []
    newer: dict[str, ConnectionState] = {}  # panel -> connection of the next snapshot kept
    for event in reversed(events):
        if isinstance(event, SnapshotReplaced):
            if newer.get(event.panel_id) is event.snapshot.connection:
                continue
            newer[event.panel_id] = event.snapshot.connection
        elif isinstance(event, ConnectionChanged):
            newer.pop(event.panel_id, None)
        kept.append(event)
    kept.reverse()
    return kept


__all__ = ["latest_states"]
