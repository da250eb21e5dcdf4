"""The Homie node/property model of a panel: which properties exist and how values read.

Homie is the canonical tree (contract): Home Assistant discovery points at these topics and
``/set`` commands arrive on them, so this is the single list of properties. Each kind's
properties are declared in ``mqtt/kinds``; this module adds the panel-wide ``system`` node.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.mqtt.kinds.area import ARM_ACTIONS
from e27bridge.mqtt.properties import PropertySpec, enum_format, format_value
from e27bridge.mqtt.topics import SYSTEM_NODE, node_id
from e27bridge.panel.state import (
    ArmMode,
    Capabilities,
    ConnectionState,
    EntityKind,
    PanelSnapshot,
)

__all__ = [
    "ARM_ACTIONS",
    "TYPE_NAMESPACE",
    "Node",
    "PropertySpec",
    "entity_node",
    "format_value",
    "panel_nodes",
    "system_node",
]

# Homie ``type`` values are namespaced (``e27bridge.zone``) so they never collide with
# another publisher's types (ADR-0120).
TYPE_NAMESPACE = "e27bridge"


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    name: str
    type: str
    kind: EntityKind | None  # None for the panel-wide ``system`` node
    number: int
    source: Any  # the entity (or the snapshot for ``system``)
    properties: tuple[PropertySpec, ...]
    urgent: bool = False  # all its properties skip coalescing

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "properties": {p.id: p.describe() for p in self.properties},
        }

    def property(self, prop_id: str) -> PropertySpec | None:
        return next((p for p in self.properties if p.id == prop_id), None)


CONNECTION_STATES = tuple(s.value for s in ConnectionState)

SYSTEM_PROPERTIES = (
    PropertySpec(
        "connection",
        "Connection",
        "enum",
        lambda s: s.connection.value,
        enum_format(CONNECTION_STATES),
    ),
    PropertySpec("troubles", "Troubles", "json", lambda s: list(s.troubles), urgent=True),
    PropertySpec("rtt", "Round-trip time", "float", lambda s: s.health.rtt_ms, "0:", unit="ms"),
    PropertySpec(
        "queue-depth", "Queue depth", "integer", lambda s: s.health.queue_depth, "0:", unit="#"
    ),
    PropertySpec(
        "reconnects", "Reconnects", "integer", lambda s: s.health.reconnects, "0:", unit="#"
    ),
    PropertySpec("last-error", "Last error", "string", lambda s: s.health.last_error or ""),
    PropertySpec("model", "Model", "string", lambda s: s.info.model),
    PropertySpec("firmware", "Firmware", "string", lambda s: s.info.firmware),
    PropertySpec("serial", "Serial number", "string", lambda s: s.info.serial),
)


def advertised(snapshot: PanelSnapshot, arm_modes: tuple[ArmMode, ...] | None) -> Capabilities:
    """The panel's capabilities; ``arm_modes`` narrows them to those (tests, callers that
    already hold them)."""
    caps = snapshot.capabilities
    return caps if arm_modes is None else replace(caps, arm_modes=arm_modes)


def entity_node(
    kind: EntityKind, entity: Any, capabilities: Capabilities, writable: bool = True
) -> Node:
    """The node of one entity (a change to one entity rebuilds only its node).

    A node whose commands are always refused (read-only panel, allow-list) advertises no
    settable property and no command property: Homie controllers offer nothing to press.
    """
    spec = MQTT_KINDS[kind]
    nid = node_id(kind, entity.id)
    props = spec.properties(entity, capabilities)
    if not writable:
        props = tuple(replace(p, settable=False, setter=None) for p in props if p.retained)
    return Node(
        nid,
        entity.name or nid,
        f"{TYPE_NAMESPACE}.{kind.value}",
        kind,
        entity.id,
        entity,
        props,
        spec.urgent,
    )


def panel_nodes(
    snapshot: PanelSnapshot, arm_modes: tuple[ArmMode, ...] | None = None
) -> dict[str, Node]:
    """Every node of one panel, keyed by node id (``system`` first)."""
    nodes = {SYSTEM_NODE: system_node(snapshot)}
    capabilities = advertised(snapshot, arm_modes)
    for kind in MQTT_KINDS:
        entities = snapshot.entities(kind)
        for number in sorted(entities):
            node = entity_node(kind, entities[number], capabilities)
            nodes[node.id] = node
    return nodes


def system_node(snapshot: PanelSnapshot) -> Node:
    return Node(
        SYSTEM_NODE, "System", f"{TYPE_NAMESPACE}.system", None, 0, snapshot, SYSTEM_PROPERTIES
    )
