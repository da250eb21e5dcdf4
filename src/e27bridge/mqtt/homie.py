"""Homie v5 publisher: the bridge root device and one child device per panel.

Only changed retained values are published (a per-topic cache); ``$description`` only
changes while the device is in ``init``; troubles are ``$alert``s; removed nodes have their
retained topics cleared. See ADR-0101 for the ``$state`` mapping of panel sessions.

A retained property is declared once its value is known and stays declared (ADR-0120), so
``ready`` always means every declared property has a value; every settable retained
property has a ``$target`` from its first value on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from e27bridge.mqtt.homie_tree import KnownValues, NodeTree
from e27bridge.mqtt.nodes import TYPE_NAMESPACE, Node, panel_nodes
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import SYSTEM_NODE, Topics, homie_id
from e27bridge.panel.state import ArmMode, ConnectionState, PanelSnapshot

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
    """The whole description of ``snapshot`` (every property, whether its value is known)."""
    nodes = panel_nodes(snapshot, arm_modes)
    return _description(snapshot, bridge_id, version, {n: v.describe() for n, v in nodes.items()})


def _description(
    snapshot: PanelSnapshot, bridge_id: str, version: int, nodes: dict[str, Any]
) -> dict[str, Any]:
    return {
        "homie": HOMIE,
        "version": version,
        "name": snapshot.info.name or snapshot.panel_id,
        "type": f"{TYPE_NAMESPACE}.panel",
        "root": bridge_id,
        "parent": bridge_id,
        "nodes": nodes,
    }


def root_description(bridge_id: str, children: list[str], version: int) -> dict[str, Any]:
    return {
        "homie": HOMIE,
        "version": version,
        "name": "e27bridge" if bridge_id == "e27bridge" else f"e27bridge {bridge_id}",
        "type": f"{TYPE_NAMESPACE}.bridge",
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
        """``init`` first; the description waits for :meth:`ready`, after the children."""
        await self._sink.publish(self._topics.state(self._topics.bridge_id), "init")

    async def ready(self) -> None:
        """The description, then ``ready``: call once every child's description is out, so
        a controller that follows ``children`` finds each one described."""
        bid = self._topics.bridge_id
        description = root_description(bid, self._children, self._clock.next())
        await self._sink.publish(self._topics.description(bid), _json(description))
        await self._sink.publish(self._topics.state(bid), "ready")

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
        *,
        known: KnownValues | None = None,
    ) -> None:
        self._t = topics
        self._writable = writable
        self._sink = sink
        self.panel_id = panel_id
        self._clock = clock
        self._cache: dict[str, bytes] = {}  # retained value and $target topics as published
        self._known = known or KnownValues()
        self._structure: dict[str, Any] | None = None
        self._state: str | None = None
        self._alerts: dict[str, str] = {}
        self._found: set[str] = set()  # retained topics seen on the broker, not yet judged
        self._tree = NodeTree(self._writable, self._known)

    # -- lifecycle -------------------------------------------------------------------------
    async def publish_all(self, snapshot: PanelSnapshot) -> None:
        """Forget what the broker has and publish everything again (after a (re)connect)."""
        self._cache.clear()
        self._structure = None
        self._state = None
        self._alerts.clear()
        self._tree = NodeTree(self._writable, self._known)
        await self.sync(snapshot)

    async def sync(self, snapshot: PanelSnapshot) -> None:
        """Bring the retained tree in line with ``snapshot``, publishing only differences."""
        admit = self._state != "ready" or self._known.late_allowed()
        nodes, restructured = self._tree.update(snapshot, admit)
        target_state = HOMIE_STATE[snapshot.connection]
        if restructured or self._structure is None:
            description = _description(snapshot, self._t.bridge_id, 0, self._tree.described())
            await self._set_state("init")
            self._known.described()
            description["version"] = self._clock.next()
            await self._sink.publish(self._t.description(self.panel_id), _json(description))
            await self._clear_removed(description["nodes"])
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
        await self._publish_cached(self._t.target(self.panel_id, node, prop), payload)

    async def settled(self, node: str, prop: str, ok: bool) -> None:
        """The command finished; a failed one puts ``$target`` back to the real value.

        A successful one leaves ``$target`` until the panel reports the value.
        """
        current = self._cache.get(self._t.prop(self.panel_id, node, prop))
        if not ok and current is not None:
            await self._publish_cached(self._t.target(self.panel_id, node, prop), current)

    # -- internals -------------------------------------------------------------------------
    async def _set_state(self, state: str) -> None:
        if state != self._state:
            await self._sink.publish(self._t.state(self.panel_id), state)
            self._state = state
            log.info("homie_state", panel=self.panel_id, state=state)

    async def _publish_node(self, node: Node) -> None:
        """Declared values, and ``$target`` (the same value) of settable retained ones."""
        for spec in self._known.visible(node, admit=False).properties:
            payload = self._known.payload(node, spec) if spec.retained else None
            topic = self._t.prop(self.panel_id, node.id, spec.id)
            if payload is None or self._cache.get(topic) == payload:
                continue
            urgent = node.urgent or spec.urgent
            await self._publish_cached(topic, payload, urgent)
            if spec.settable:
                target = self._t.target(self.panel_id, node.id, spec.id)
                await self._publish_cached(target, payload, urgent)

    async def _publish_cached(self, topic: str, payload: bytes, urgent: bool = True) -> None:
        if self._cache.get(topic) != payload:
            await self._sink.publish(topic, payload, urgent=urgent)
            self._cache[topic] = payload

    async def _clear_removed(self, nodes: Mapping[str, Any]) -> None:
        """Clear the value and ``$target`` topics of properties no longer declared."""
        prefix = self._t.device(self.panel_id) + "/"
        for topic in list(self._cache):
            parts = topic[len(prefix) :].split("/")
            props = nodes.get(parts[0], {}).get("properties", {})
            if parts[1] in props and (len(parts) == 2 or props[parts[1]].get("settable")):
                continue
            await self._sink.publish(topic, b"")
            del self._cache[topic]
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


__all__ = [
    "HOMIE_STATE",
    "SYSTEM_NODE",
    "HomiePanel",
    "HomieRoot",
    "KnownValues",
    "NodeTree",
    "VersionClock",
]
