"""Homie v5 publisher: the bridge root device and one child device per panel.

Only changed retained values are published (a per-topic cache); ``$description`` only
changes while the device is in ``init``; troubles are ``$alert``s; removed nodes have their
retained topics cleared. See ADR-0101 for the ``$state`` mapping of panel sessions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.mqtt.nodes import Node, entity_node, format_value, panel_nodes, system_node
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import SYSTEM_NODE, Topics, homie_id, node_id
from e27bridge.panel.state import ArmMode, ConnectionState, EntityKind, PanelSnapshot

log = structlog.get_logger(__name__)

HOMIE = "5.0"

# Panel session state -> Homie ``$state`` (ADR-0101).
HOMIE_STATE: Mapping[ConnectionState, str] = {
    ConnectionState.CONNECTING: "init",
    ConnectionState.READY: "ready",
    ConnectionState.DISCONNECTED: "disconnected",
    ConnectionState.LINK_REQUIRED: "disconnected",
    ConnectionState.STOPPED: "disconnected",
}

# Alerts the bridge itself raises on the panel device, besides the panel's troubles.
SESSION_ALERTS: Mapping[ConnectionState, tuple[str, str]] = {
    ConnectionState.DISCONNECTED: ("panel-offline", "The panel session is down; reconnecting"),
    ConnectionState.LINK_REQUIRED: (
        "link-required",
        "The panel refused the link keys; run `e27bridge link`",
    ),
}

# A bug in the bridge (traceback in the log), cleared by the next full read of the panel.
INTERNAL_ERROR_ALERT = "internal-error"


class VersionClock:
    """``$description`` versions: a new, larger integer for every document (milliseconds)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, int(self._now() * 1000))
        return self._last


def panel_description(
    snapshot: PanelSnapshot,
    bridge_id: str,
    version: int,
    arm_modes: tuple[ArmMode, ...] | None = None,
) -> dict[str, Any]:
    nodes = panel_nodes(snapshot, arm_modes)
    return _description(snapshot, bridge_id, version, {n: v.describe() for n, v in nodes.items()})


def _description(
    snapshot: PanelSnapshot, bridge_id: str, version: int, nodes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "homie": HOMIE,
        "version": version,
        "name": snapshot.info.name or snapshot.panel_id,
        "type": "e27-panel",
        "root": bridge_id,
        "parent": bridge_id,
        "nodes": nodes,
    }


class NodeTree:
    """A panel's nodes, rebuilt per entity: only nodes whose entity object changed are new.

    Snapshots are immutable and a change replaces only the entities it touches (and only
    the mapping of their kind), so a zone change costs one node, not the panel; the
    description is re-rendered only when a node's description (or the set of nodes, the
    name, the capabilities) changed.
    """

    def __init__(self, writable: Callable[[str], bool] = lambda node: True) -> None:
        self._writable = writable  # False: the node's commands are always refused
        self.nodes: dict[str, Node] = {}
        self._kinds: dict[EntityKind, tuple[Mapping[int, Any], dict[int, Node]]] = {}
        self._described: dict[str, dict[str, Any]] = {}
        self._key: object = None

    def update(self, snapshot: PanelSnapshot) -> tuple[list[Node], bool]:
        """(nodes whose values may have changed, whether the description changed)."""
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
            self.nodes = {SYSTEM_NODE: system}
            for _, nodes in kinds.values():
                self.nodes.update((n.id, n) for n in nodes.values())
            for nid in self._described.keys() - self.nodes.keys():
                del self._described[nid]
        else:  # the same node ids: replace the changed ones in place
            self.nodes.update((n.id, n) for n in changed)
        return changed, structure

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
        described = node.describe()
        if described == self._described.get(node.id):
            return False
        self._described[node.id] = described
        return True


def root_description(bridge_id: str, children: list[str], version: int) -> dict[str, Any]:
    return {
        "homie": HOMIE,
        "version": version,
        "name": "e27bridge" if bridge_id == "e27bridge" else f"e27bridge {bridge_id}",
        "type": "e27-bridge",
        "children": children,
        "nodes": {},
    }


def _structure(description: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in description.items() if k != "version"}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class HomieRoot:
    """The bridge's own root device; its ``$state`` is the connection's LWT (``lost``)."""

    def __init__(
        self, topics: Topics, sink: Sink, children: list[str], clock: VersionClock
    ) -> None:
        self._topics = topics
        self._sink = sink
        self._children = children
        self._clock = clock

    async def publish_all(self) -> None:
        bid = self._topics.bridge_id
        await self._sink.publish(self._topics.state(bid), "init")
        description = root_description(bid, self._children, self._clock.next())
        await self._sink.publish(self._topics.description(bid), _json(description))

    async def ready(self) -> None:
        await self._sink.publish(self._topics.state(self._topics.bridge_id), "ready")

    async def disconnected(self) -> None:
        await self._sink.publish(self._topics.state(self._topics.bridge_id), "disconnected")


class HomiePanel:
    """One panel's child device. Call ``sync`` with every new snapshot."""

    def __init__(
        self,
        topics: Topics,
        sink: Sink,
        panel_id: str,
        clock: VersionClock,
        writable: Callable[[str], bool] = lambda node: True,
    ) -> None:
        self._t = topics
        self._writable = writable
        self._sink = sink
        self.panel_id = panel_id
        self._clock = clock
        self._cache: dict[str, bytes] = {}  # retained value topics as last published
        self._structure: dict[str, Any] | None = None
        self._state: str | None = None
        self._alerts: dict[str, str] = {}
        self._target_used: set[tuple[str, str]] = set()
        self._pending_target: dict[tuple[str, str], bytes] = {}
        self._found: set[str] = set()  # retained topics seen on the broker, not yet judged
        self._tree = NodeTree(self._writable)

    # -- lifecycle -------------------------------------------------------------------------
    async def publish_all(self, snapshot: PanelSnapshot) -> None:
        """Forget what the broker has and publish everything again (after a (re)connect)."""
        self._cache.clear()
        self._structure = None
        self._state = None
        self._alerts.clear()
        self._tree = NodeTree(self._writable)
        await self.sync(snapshot)

    async def sync(self, snapshot: PanelSnapshot) -> None:
        """Bring the retained tree in line with ``snapshot``, publishing only differences."""
        nodes, restructured = self._tree.update(snapshot)
        target_state = HOMIE_STATE[snapshot.connection]
        if restructured or self._structure is None:
            description = _description(snapshot, self._t.bridge_id, 0, self._tree.described())
            await self._set_state("init")
            description["version"] = self._clock.next()
            await self._sink.publish(self._t.description(self.panel_id), _json(description))
            await self._clear_removed(set(description["nodes"]))
            self._structure = _structure(description)
            log.info(
                "homie_description_published",
                panel=self.panel_id,
                nodes=len(description["nodes"]),
                version=description["version"],
            )
        for node in nodes:  # the system node is always among them: its source is the snapshot
            await self._publish_node(node)
        await self._sync_alerts(snapshot)
        if target_state == "ready":
            await self.clear_ghosts()
        await self._set_state(target_state)

    async def remove(self) -> None:
        """Delete the device: ``$state`` first, then every other retained topic."""
        await self._sink.publish(self._t.state(self.panel_id), b"")
        for topic in list(self._cache):
            await self._sink.publish(topic, b"")
        for alert_id in list(self._alerts):
            await self._sink.publish(self._t.alert(self.panel_id, alert_id), b"")
        await self._sink.publish(self._t.description(self.panel_id), b"")
        self._cache.clear()
        self._alerts.clear()

    def learn_retained(self, topic: str, payload: bytes) -> bool:
        """A retained topic under this device found on the broker (maybe from an earlier run).

        Once the device is ``ready``, such topics that the current ``$description`` does not
        have are cleared (:meth:`clear_ghosts`), so a node removed while the bridge was down
        leaves no ghosts. True when that check is due now.
        """
        if not payload or not topic.startswith(self._t.device(self.panel_id) + "/"):
            return False
        self._found.add(topic)
        return self._state == "ready"

    # -- $target ---------------------------------------------------------------------------
    async def accepted(self, node: str, prop: str, payload: bytes) -> None:
        """A ``/set`` was accepted: echo the exact payload to ``$target`` (retained)."""
        key = (node, prop)
        self._target_used.add(key)
        self._pending_target[key] = payload
        await self._sink.publish(self._t.target(self.panel_id, node, prop), payload)

    async def settled(self, node: str, prop: str, ok: bool) -> None:
        """The command finished; a failed one puts ``$target`` back to the real value."""
        key = (node, prop)
        if ok or self._pending_target.pop(key, None) is None:
            return
        current = self._cache.get(self._t.prop(self.panel_id, node, prop))
        if current is not None:
            await self._sink.publish(self._t.target(self.panel_id, node, prop), current)

    # -- internals -------------------------------------------------------------------------
    async def _set_state(self, state: str) -> None:
        if state != self._state:
            await self._sink.publish(self._t.state(self.panel_id), state)
            self._state = state
            log.info("homie_state", panel=self.panel_id, state=state)

    async def _publish_node(self, node: Node) -> None:
        for spec in node.properties:
            if not spec.retained:
                continue
            payload = format_value(spec, spec.value(node.source))
            topic = self._t.prop(self.panel_id, node.id, spec.id)
            if payload is None or self._cache.get(topic) == payload:
                continue
            urgent = node.urgent or spec.urgent
            await self._sink.publish(topic, payload, urgent=urgent)
            self._cache[topic] = payload
            key = (node.id, spec.id)
            if key in self._target_used:
                self._pending_target.pop(key, None)
                await self._sink.publish(
                    self._t.target(self.panel_id, node.id, spec.id), payload, urgent=urgent
                )

    async def _clear_removed(self, node_ids: set[str]) -> None:
        prefix = self._t.device(self.panel_id) + "/"
        for topic in list(self._cache):
            node = topic[len(prefix) :].split("/", 1)[0]
            if node in node_ids:
                continue
            await self._sink.publish(topic, b"")
            del self._cache[topic]
            prop = topic[len(prefix) :].split("/", 1)[1]
            if (node, prop) in self._target_used:
                self._target_used.discard((node, prop))
                self._pending_target.pop((node, prop), None)
                await self._sink.publish(self._t.target(self.panel_id, node, prop), b"")
            log.info("homie_topic_removed", panel=self.panel_id, topic=topic)

    async def clear_ghosts(self) -> None:
        """Clear the retained topics found on the broker that are not ours (any more)."""
        found, self._found = self._found, set()
        for topic in sorted(found):
            if self._stale(topic):
                await self._sink.publish(topic, b"")
                log.info("homie_ghost_removed", panel=self.panel_id, topic=topic)

    def _stale(self, topic: str) -> bool:
        if self._structure is None:
            return False
        parts = topic[len(self._t.device(self.panel_id)) + 1 :].split("/")
        if len(parts) == 2 and parts[0] == "$alert":
            return parts[1] not in self._alerts
        if len(parts) == 2 or (len(parts) == 3 and parts[2] == "$target"):
            node = self._structure["nodes"].get(parts[0], {})
            spec = node.get("properties", {}).get(parts[1])
            if spec is None or spec.get("retained", True) is False:
                return True
            return len(parts) == 3 and not spec.get("settable", False)
        return False  # not a topic this publisher owns

    async def _sync_alerts(self, snapshot: PanelSnapshot) -> None:
        wanted: dict[str, str] = {}
        for trouble in snapshot.troubles:
            wanted[homie_id(trouble)] = trouble
        if snapshot.connection in SESSION_ALERTS:
            alert_id, message = SESSION_ALERTS[snapshot.connection]
            wanted[alert_id] = message
        if snapshot.health.internal_error:
            wanted[INTERNAL_ERROR_ALERT] = snapshot.health.internal_error
        for alert_id in sorted(set(self._alerts) - set(wanted)):
            await self._sink.publish(self._t.alert(self.panel_id, alert_id), b"")
            del self._alerts[alert_id]
        for alert_id, message in sorted(wanted.items()):
            if self._alerts.get(alert_id) != message:
                await self._sink.publish(self._t.alert(self.panel_id, alert_id), message)
                self._alerts[alert_id] = message


__all__ = ["HOMIE_STATE", "SYSTEM_NODE", "HomiePanel", "HomieRoot", "VersionClock"]
