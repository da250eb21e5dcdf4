"""A panel's Homie nodes as published: which properties are declared (ADR-0120) and which
nodes changed since the last snapshot. Shared by the Homie v5 and Homie 4 publishers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.mqtt.nodes import Node, PropertySpec, entity_node, format_value, system_node
from e27bridge.mqtt.topics import SYSTEM_NODE, node_id
from e27bridge.panel.state import EntityKind, PanelSnapshot

__all__ = ["LATE_DECLARATION_HOLD", "KnownValues", "NodeTree"]


# A value first known while the device is ``ready`` waits this long after the last
# description, so late values (each wireless zone's first RSSI) share one init/ready cycle.
LATE_DECLARATION_HOLD = 60.0


class KnownValues:
    """Which retained properties are declared, and their last payloads (ADR-0120).

    A retained property is declared from the first snapshot that gives it a value, and stays
    declared (with its last payload) when the panel later reports none, so a device never
    lists a property without a retained value. Kept across broker reconnects.
    """

    def __init__(
        self, hold: float = LATE_DECLARATION_HOLD, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._payloads: dict[tuple[str, str], bytes] = {}
        self._declared: set[tuple[str, str]] = set()
        self.pending: set[str] = set()  # nodes with a first value waiting to be declared
        self._hold = hold
        self._now = now
        self._described_at: float | None = None

    def late_allowed(self) -> bool:
        """Whether a ``ready`` device may take new properties now (the hold is over)."""
        last = self._described_at
        return last is None or self._now() - last >= self._hold

    def described(self) -> None:
        """A description was published now."""
        self._described_at = self._now()

    def payload(self, node: Node, spec: PropertySpec) -> bytes | None:
        """The property's payload now, or the last one the panel gave (None: never known)."""
        key = (node.id, spec.id)
        payload = format_value(spec, spec.value(node.source))
        if payload is None:
            return self._payloads.get(key)
        self._payloads[key] = payload
        return payload

    def visible(self, node: Node, admit: bool) -> Node:
        """``node`` with only its declared properties; with ``admit``, those with a first
        value are declared now, otherwise they wait (the node is noted as pending)."""
        kept: list[PropertySpec] = []
        for spec in node.properties:
            key = (node.id, spec.id)
            if spec.retained and key not in self._declared:
                if self.payload(node, spec) is None:
                    continue
                if not admit:
                    self.pending.add(node.id)
                    continue
                self._declared.add(key)
            kept.append(spec)
        if admit:
            self.pending.discard(node.id)
        return replace(node, properties=tuple(kept))

    def forget(self, node_ids: Iterable[str]) -> None:
        """Nodes that are gone: their properties are undeclared."""
        gone = set(node_ids)
        self._payloads = {k: v for k, v in self._payloads.items() if k[0] not in gone}
        self._declared = {k for k in self._declared if k[0] not in gone}
        self.pending -= gone


class NodeTree:
    """A panel's nodes, rebuilt per entity: only nodes whose entity object changed are new.

    Snapshots are immutable and a change replaces only the entities it touches (and only
    the mapping of their kind), so a zone change costs one node, not the panel; the
    description is re-rendered only when a node's description (or the set of nodes, the
    name, the capabilities) changed.
    """

    def __init__(
        self, writable: Callable[[str], bool] = lambda node: True, known: KnownValues | None = None
    ) -> None:
        self._writable = writable  # False: the node's commands are always refused
        self.known = known or KnownValues()
        self._admit = True
        self.nodes: dict[str, Node] = {}
        self._kinds: dict[EntityKind, tuple[Mapping[int, Any], dict[int, Node]]] = {}
        self._described: dict[str, dict[str, Any]] = {}
        self._key: object = None

    def update(self, snapshot: PanelSnapshot, admit: bool = True) -> tuple[list[Node], bool]:
        """(nodes whose values may have changed, whether the description changed).

        ``admit``: properties with a first value are declared now (else they wait).
        """
        self._admit = admit
        key = (snapshot.capabilities, snapshot.info.name)
        if key != self._key:
            self._key, self._kinds = key, {}
        system = system_node(snapshot)
        changed = [system]
        structure = self._refresh_described(system) or not self._kinds
        kinds: dict[EntityKind, tuple[Mapping[int, Any], dict[int, Node]]] = {}
        for kind in MQTT_KINDS:
            entities = snapshot.entities(kind)
            old = self._kinds.get(kind)
            if old is not None and old[0] is entities:
                kinds[kind] = old
                continue
            previous = old[1] if old is not None else {}
            nodes, restructured = self._kind_nodes(kind, entities, previous, snapshot, changed)
            structure = structure or restructured
            kinds[kind] = (entities, nodes)
        self._kinds = kinds
        if structure or not self.nodes:
            self._rebuild(system)
        else:  # the same node ids: replace the changed ones in place
            self.nodes.update((n.id, n) for n in changed)
        if admit:
            structure = self._declare_pending(changed) or structure
        return changed, structure

    def _rebuild(self, system: Node) -> None:
        """The node map anew; nodes that are gone are forgotten (undeclared)."""
        self.nodes = {SYSTEM_NODE: system}
        for _, nodes in self._kinds.values():
            self.nodes.update((n.id, n) for n in nodes.values())
        gone = self._described.keys() - self.nodes.keys()
        for nid in gone:
            del self._described[nid]
        self.known.forget(gone)

    def _declare_pending(self, changed: list[Node]) -> bool:
        """Nodes whose first values waited are declared now; True if one was described anew."""
        structure = False
        for nid in sorted(self.known.pending & self.nodes.keys()):
            node = self.nodes[nid]
            if node not in changed:
                changed.append(node)
            structure = self._refresh_described(node) or structure
        return structure

    def visible_nodes(self) -> list[Node]:
        """Every node with only its declared properties."""
        return [self.known.visible(node, admit=False) for node in self.nodes.values()]

    def described(self) -> dict[str, Any]:
        return {nid: self._described[nid] for nid in self.nodes}

    def _kind_nodes(
        self,
        kind: EntityKind,
        entities: Mapping[int, Any],
        previous: dict[int, Node],
        snapshot: PanelSnapshot,
        changed: list[Node],
    ) -> tuple[dict[int, Node], bool]:
        """One kind's nodes (new ones appended to ``changed``); True if described anew."""
        nodes: dict[int, Node] = {}
        structure = entities.keys() != previous.keys()
        for number in sorted(entities):
            entity = entities[number]
            node = previous.get(number)
            if node is None or node.source is not entity:
                nid = node_id(kind, number)
                node = entity_node(kind, entity, snapshot.capabilities, self._writable(nid))
                changed.append(node)
                structure = self._refresh_described(node) or structure
            nodes[number] = node
        return nodes, structure

    def _refresh_described(self, node: Node) -> bool:
        described = self.known.visible(node, self._admit).describe()
        if described == self._described.get(node.id):
            return False
        self._described[node.id] = described
        return True
