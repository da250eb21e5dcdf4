"""Per-entity user overrides (name, HA device class, exclusion) applied to a snapshot view.

Publishers read the overridden snapshot, so an excluded entity disappears everywhere at once
(Homie node, HA component, command routing) and a renamed one is renamed everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from e27bridge.panel.kinds import KINDS
from e27bridge.panel.kinds.zone import UNDEFINED
from e27bridge.panel.state import EntityKind, PanelSnapshot, Zone

EntityKey = tuple[EntityKind, int]


def _no_names() -> Mapping[EntityKey, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PanelOverrides:
    names: Mapping[EntityKey, str] = field(default_factory=_no_names)
    device_classes: Mapping[EntityKey, str] = field(default_factory=_no_names)
    excluded: frozenset[EntityKey] = frozenset()
    bypass_code: int | None = field(default=None, repr=False)  # for the HA bypass switch

    def device_class(self, kind: EntityKind, number: int) -> str | None:
        return self.device_classes.get((kind, number))

    def apply(self, snapshot: PanelSnapshot) -> PanelSnapshot:
        view = snapshot
        for kind in KINDS:
            entities = snapshot.entities(kind)
            kept: dict[int, Any] = {}
            for number, entity in entities.items():
                if (kind, number) in self.excluded or _placeholder(entity):
                    continue
                name = self.names.get((kind, number))
                kept[number] = replace(entity, name=name) if name else entity
            if len(kept) != len(entities) or any(kept[n] is not entities[n] for n in kept):
                view = view.with_entities(kind, kept)
        return view


def _placeholder(entity: Any) -> bool:
    """Placeholder zones (protocol §20 item 27); bootstrap never builds them either."""
    return isinstance(entity, Zone) and entity.definition == UNDEFINED
