"""The shape of one entity kind on MQTT: its Homie properties and its HA components.

Both read the same entity; Home Assistant components point at the Homie topics, so a kind
declares its properties once and its components in terms of them (ADR-0008).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.properties import PropertySpec
from e27bridge.mqtt.topics import Topics, node_id
from e27bridge.panel.state import Capabilities, EntityKind

QOS = 1
Components = dict[str, dict[str, Any]]  # component id -> HA component config


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "panel"


def entity_name(name: str, device_name: str) -> str:
    """Entity names never start with the device name (HA 2023.8 naming rules)."""
    if device_name and name.lower().startswith(device_name.lower() + " "):
        return name[len(device_name) + 1 :].strip() or name
    return name


@dataclass(frozen=True, slots=True)
class HassDevice:
    """What every component of one panel shares: topics, identity, overrides, capabilities."""

    topics: Topics
    panel_id: str
    mac: str  # 12 hex digits
    name: str
    overrides: PanelOverrides
    capabilities: Capabilities

    def common(
        self, platform: str, kind: str, number: int, name: str | None, suffix: str = ""
    ) -> dict[str, Any]:
        unique = f"e27_{self.mac}_{kind}_{number}" + (f"_{suffix}" if suffix else "")
        obj = f"{_slug(self.panel_id)}_{kind}_{number}" + (f"_{suffix}" if suffix else "")
        return {
            "platform": platform,
            "unique_id": unique,
            "default_entity_id": f"{platform}.{obj}",
            "name": None if name is None else entity_name(name, self.name),
            "qos": QOS,
        }

    def topic(self, node: str, prop: str) -> str:
        return self.topics.prop(self.panel_id, node, prop)

    def set(self, node: str, prop: str) -> str:
        return self.topics.set(self.panel_id, node, prop)

    def bool_switch(self, node: str, prop: str) -> dict[str, Any]:
        return {
            "state_topic": self.topic(node, prop),
            "command_topic": self.set(node, prop),
            "payload_on": "true",
            "payload_off": "false",
            "state_on": "true",
            "state_off": "false",
        }


@dataclass(frozen=True, slots=True)
class HassEntity:
    """One entity's view of its device: components are built through this."""

    device: HassDevice
    kind: EntityKind
    number: int

    @property
    def node(self) -> str:
        return node_id(self.kind, self.number)

    @property
    def overrides(self) -> PanelOverrides:
        return self.device.overrides

    @property
    def capabilities(self) -> Capabilities:
        return self.device.capabilities

    def common(self, platform: str, name: str | None, suffix: str = "") -> dict[str, Any]:
        return self.device.common(platform, self.kind.value, self.number, name, suffix)

    def topic(self, prop: str) -> str:
        return self.device.topic(self.node, prop)

    def set(self, prop: str) -> str:
        return self.device.set(self.node, prop)

    def bool_switch(self, prop: str) -> dict[str, Any]:
        return self.device.bool_switch(self.node, prop)


Properties = Callable[[Any, Capabilities], tuple[PropertySpec, ...]]


@dataclass(frozen=True, slots=True)
class MqttKind:
    """A kind as published: Homie properties of an entity, and its HA components (if any)."""

    properties: Properties
    components: Callable[[HassEntity, Any], Components] | None = None
    urgent: bool = False  # every property is published at once (alarm state, for instance)


def fixed(*properties: PropertySpec) -> Properties:
    """Properties that are the same for every entity of the kind."""
    return lambda entity, capabilities: properties
