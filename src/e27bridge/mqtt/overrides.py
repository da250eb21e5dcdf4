"""Per-entity user overrides (name, HA device class, exclusion) applied to a snapshot view,
and which nodes take commands (read-only panels, allow-lists).

Publishers read the overridden snapshot, so an excluded entity disappears everywhere at once
(Homie node, HA component, command routing) and a renamed one is renamed everywhere; the
command router, Homie and HA ask the same :meth:`PanelOverrides.refusal`, so a control that
would always be refused is never advertised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
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
    read_only: bool = False  # no command reaches the panel
    arm_bypass_open: bool = False  # HA's arm buttons bypass open zones first (ADR-0012)
    commands: tuple[str, ...] | None = None  # node id patterns taking commands (None: all)
    # kind -> (the panel's mapping, its view): a kind whose mapping is the same object as
    # last time (nothing of that kind changed) is not walked again.
    _views: dict[EntityKind, tuple[Mapping[int, Any], Mapping[int, Any]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def refusal(self, node: str) -> str | None:
        """Why every command for ``node`` is refused (``read_only``, ``not_allowed``), or
        None when its commands may reach the panel."""
        if self.read_only:
            return "read_only"
        if self.commands is not None and not any(fnmatchcase(node, p) for p in self.commands):
            return "not_allowed"
        return None

    def writable(self, node: str) -> bool:
        return self.refusal(node) is None

    def device_class(self, kind: EntityKind, number: int) -> str | None:
        return self.device_classes.get((kind, number))

    def apply(self, snapshot: PanelSnapshot) -> PanelSnapshot:
        changes: dict[EntityKind, Mapping[int, Any]] = {}
        for kind in KINDS:
            entities = snapshot.entities(kind)
            cached = self._views.get(kind)
            if cached is not None and cached[0] is entities:
                kept: Mapping[int, Any] = cached[1]
            else:
                kept = self._kept(kind, entities)
                self._views[kind] = (entities, kept)
            if kept is not entities:
                changes[kind] = kept
        if not changes:
            return snapshot
        # The cached views go in as they are, so an unchanged kind stays the same object.
        sets = MappingProxyType({**snapshot.entity_sets, **changes})
        return replace(snapshot, entity_sets=sets)

    def _kept(self, kind: EntityKind, entities: Mapping[int, Any]) -> Mapping[int, Any]:
        """The view of one kind: ``entities`` itself when no override touches it."""
        kept: dict[int, Any] = {}
        for number, entity in entities.items():
            if (kind, number) in self.excluded or _placeholder(entity):
                continue
            name = self.names.get((kind, number))
            kept[number] = replace(entity, name=name) if name else entity
        if len(kept) == len(entities) and all(kept[n] is entities[n] for n in kept):
            return entities
        return MappingProxyType(kept)


def _placeholder(entity: Any) -> bool:
    """Placeholder zones (protocol §20 item 27); bootstrap never builds them either."""
    return isinstance(entity, Zone) and entity.definition == UNDEFINED
