"""Home Assistant discovery: one retained device config per panel, or one config per entity.

Entities point at the Homie topics (one source of truth). ``bridge.discovery_mode`` picks
the form: ``device`` (``<prefix>/device/<panel>/config``), ``component``
(``<prefix>/<platform>/<panel>/<component>/config``, for tools that read only that form) or
``off``. Both forms give each entity the same unique id and HA discovery id, and the same
config. Components published before (by this process or found retained on the broker) and
gone now are removed (a ``{"platform": ...}`` stub, or an emptied topic), and the other
form's retained configs are moved over (``migrate_discovery``) and cleared (ADR-0107).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from e27bridge import __version__
from e27bridge.mqtt.hass_readonly import read_only_components
from e27bridge.mqtt.inbound import load_json
from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.mqtt.kinds.base import QOS, Components, HassDevice, HassEntity, entity_name
from e27bridge.mqtt.kinds.zone import zone_device_class
from e27bridge.mqtt.nodes import advertised
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import SYSTEM_NODE, Topics, mac12, node_id
from e27bridge.panel.state import ArmMode, ConnectionState, EntityKind, PanelSnapshot

__all__ = ["ConfigBuilder", "HassPanel", "Origin", "entity_name", "zone_device_class"]

log = structlog.get_logger(__name__)

MANUFACTURER = "Elk Products"
SUPPORT_URL = "https://github.com/e27bridge/e27bridge/issues"

# Event types of the ``<base>/<panel>/event`` stream (events.py normalises to these).
EVENT_TYPES = ("armed", "disarmed", "alarm", "alarm_cleared", "bypass", "trouble", "log", "other")

AVAILABLE_TEMPLATE = "{{ 'ready' if value == 'ready' else 'offline' }}"

DiscoveryMode = Literal["device", "component", "off"]
# Options HA copies from a device config into each component that does not set its own.
SHARED_OPTIONS = ("availability", "availability_mode")


def bridge_availability(topics: Topics) -> dict[str, str]:
    """``bridge/state`` (online/offline, with its own will) as an availability entry."""
    return {
        "topic": topics.bridge_state,
        "value_template": "{{ value_json.state }}",
        "payload_available": "online",
        "payload_not_available": "offline",
    }


@dataclass(frozen=True, slots=True)
class Origin:
    name: str = "e27bridge"
    sw_version: str = __version__
    support_url: str = SUPPORT_URL

    def payload(self) -> dict[str, str]:
        return {"name": self.name, "sw_version": self.sw_version, "support_url": self.support_url}


_Part = tuple[object, Components]  # (the entity it was built from, its components)


class ConfigBuilder:
    """Pure builder of one panel's device config from a (overridden) snapshot."""

    def __init__(
        self,
        topics: Topics,
        panel_id: str,
        overrides: PanelOverrides,
        origin: Origin,
        arm_modes: tuple[ArmMode, ...] | None = None,  # None: the panel's own
    ) -> None:
        self._t = topics
        self._panel_id = panel_id
        self._overrides = overrides
        self._origin = origin
        self._arm_modes = arm_modes
        self._mac = ""
        self._device_name = ""
        # Per-entity components, kept while the entity object is the same (snapshots are
        # immutable and a change replaces only the entities it touches), so a zone change
        # rebuilds one zone's components, not the panel's.
        self._parts: dict[EntityKind, tuple[Mapping[int, Any], dict[int, _Part]]] = {}
        self._device_key: tuple[object, ...] | None = None
        self._system_parts: Components = {}
        self.version = 0  # counts changes of the components (renderers compare it)

    def build(
        self,
        snapshot: PanelSnapshot,
        removed: Mapping[str, str] | None = None,
        components: Components | None = None,  # when the caller has them already
    ) -> dict[str, Any]:
        components = dict(self.components(snapshot) if components is None else components)
        for cid, platform in sorted((removed or {}).items()):
            if cid not in components:
                components[cid] = {"platform": platform}
        return {
            "device": self._device(snapshot),
            "origin": self._origin.payload(),
            "availability": self._availability(),
            "availability_mode": "all",
            "qos": QOS,
            "components": components,
        }

    def components(self, snapshot: PanelSnapshot) -> Components:
        self.refresh(snapshot)
        out: Components = {}
        for _, parts in self._parts.values():
            for _, part in parts.values():
                out.update(part)
        out.update(self._system_parts)
        return out

    def refresh(self, snapshot: PanelSnapshot) -> bool:
        """Bring the per-entity cache up to ``snapshot``; True when any component changed."""
        self._mac = mac12(snapshot.info.mac)
        self._device_name = snapshot.info.name or snapshot.panel_id
        capabilities = advertised(snapshot, self._arm_modes)
        changed = False
        key = (self._mac, self._device_name, capabilities)
        if key != self._device_key:
            self._device_key, self._parts, changed = key, {}, True
        device = HassDevice(
            self._t, self._panel_id, self._mac, self._device_name, self._overrides, capabilities
        )
        fresh: dict[EntityKind, tuple[Mapping[int, Any], dict[int, _Part]]] = {}
        for kind, spec in MQTT_KINDS.items():
            if spec.components is None:
                continue
            entities = snapshot.entities(kind)
            old = self._parts.get(kind)
            if old is not None and old[0] is entities:  # nothing of this kind changed
                fresh[kind] = old
                continue
            previous = old[1] if old is not None else {}
            parts, kind_changed = self._kind_parts(kind, entities, previous, device)
            changed = changed or kind_changed
            fresh[kind] = (entities, parts)
        self._parts = fresh
        if changed or not self._system_parts:
            self._system_parts = self._system(device)
            self.version += 1
        return changed

    def _kind_parts(
        self,
        kind: EntityKind,
        entities: Mapping[int, Any],
        previous: dict[int, _Part],
        device: HassDevice,
    ) -> tuple[dict[int, _Part], bool]:
        """One kind's components (an entity object seen before keeps its part), and whether
        any component differs from ``previous``."""
        build = MQTT_KINDS[kind].components
        assert build is not None
        parts: dict[int, _Part] = {}
        changed = entities.keys() != previous.keys()
        for number, entity in entities.items():
            cached = previous.get(number)
            if cached is None or cached[0] is not entity:
                part = build(HassEntity(device, kind, number), entity)
                if not self._overrides.writable(node_id(kind, number)):
                    part = read_only_components(part)
                changed = changed or cached is None or cached[1] != part
                cached = (entity, part)
            parts[number] = cached
        return parts, changed

    def per_component(self, config: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Component id -> (platform, config) as HA expands a device config: shared options,
        ``device`` and ``origin`` in each; removal stubs left out."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for cid, component in config["components"].items():
            if set(component) == {"platform"}:
                continue
            flat = {k: v for k, v in component.items() if k != "platform"}
            for key in SHARED_OPTIONS:
                if key in config:
                    flat.setdefault(key, config[key])
            out[cid] = (
                component["platform"],
                {**flat, "device": config["device"], "origin": config["origin"]},
            )
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _device(self, snapshot: PanelSnapshot) -> dict[str, Any]:
        info = snapshot.info
        device: dict[str, Any] = {
            "identifiers": [f"e27_{mac12(info.mac)}"],
            "connections": [["mac", ":".join(re.findall("..", mac12(info.mac)))]],
            "name": info.name or snapshot.panel_id,
            "manufacturer": MANUFACTURER,
            "model": info.model or "E27",
        }
        if info.firmware:
            device["sw_version"] = info.firmware
        if info.serial:
            device["serial_number"] = info.serial
        return device

    def _availability(self, panel: bool = True) -> list[dict[str, str]]:
        devices = [self._t.bridge_id] + ([self._panel_id] if panel else [])
        if not self._t.homie5:  # no Homie root device: bridge/state says the bridge is up
            return [bridge_availability(self._t), *self._states(devices[1:])]
        return self._states(devices)

    def _states(self, devices: list[str]) -> list[dict[str, str]]:
        return [
            {
                "topic": self._t.state(device),
                "value_template": AVAILABLE_TEMPLATE,
                "payload_available": "ready",
                "payload_not_available": "offline",
            }
            for device in devices
        ]

    def _system(self, device: HassDevice) -> Components:
        n = SYSTEM_NODE

        def diag(platform: str, prop: str, name: str) -> dict[str, Any]:
            return {
                **device.common(platform, "system", 0, name, prop.replace("-", "_")),
                "entity_category": "diagnostic",
            }

        return {
            "system-connection": {
                **diag("binary_sensor", "connection", "Panel connection"),
                "device_class": "connectivity",
                "state_topic": device.topic(n, "connection"),
                "value_template": "{{ 'ON' if value == 'ready' else 'OFF' }}",
                # Must stay available while the panel is down: it reports exactly that.
                "availability": self._availability(panel=False),
            },
            "system-troubles": {
                **diag("binary_sensor", "troubles", "Troubles"),
                "device_class": "problem",
                "state_topic": device.topic(n, "troubles"),
                "value_template": "{{ 'ON' if value_json | length > 0 else 'OFF' }}",
                "json_attributes_topic": device.topic(n, "troubles"),
                "json_attributes_template": "{{ {'troubles': value_json} | tojson }}",
            },
            "system-rtt": {
                **diag("sensor", "rtt", "Round-trip time"),
                "state_topic": device.topic(n, "rtt"),
                "device_class": "duration",
                "unit_of_measurement": "ms",
                "state_class": "measurement",
                "suggested_display_precision": 0,
            },
            "system-queue-depth": {
                **diag("sensor", "queue-depth", "Queue depth"),
                "state_topic": device.topic(n, "queue-depth"),
                "state_class": "measurement",
            },
            "system-reconnects": {
                **diag("sensor", "reconnects", "Reconnects"),
                "state_topic": device.topic(n, "reconnects"),
                "state_class": "total_increasing",
                "availability": self._availability(panel=False),
            },
            "system-last-error": {
                **diag("sensor", "last-error", "Last error"),
                "state_topic": device.topic(n, "last-error"),
                "value_template": "{{ value | replace('\\x00', '') }}",
                "availability": self._availability(panel=False),
            },
            "system-events": {
                **device.common("event", "system", 0, "Events", "events"),
                "state_topic": self._t.panel_event(self._panel_id),
                "event_types": list(EVENT_TYPES),
            },
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


MIGRATE = _dumps({"migrate_discovery": True})


class HassPanel:
    """Publishes one panel's discovery configs when its inventory is known and changes."""

    def __init__(
        self,
        topics: Topics,
        sink: Sink,
        panel_id: str,
        builder: ConfigBuilder,
        mode: DiscoveryMode = "device",
    ) -> None:
        self._t = topics
        self._sink = sink
        self.panel_id = panel_id
        self._builder = builder
        self.mode = mode
        self._known: dict[str, str] = {}  # component id -> platform, ever live in device form
        self._retained: set[str] = set()  # our config topics the broker holds (either form)
        self._last: dict[str, str] = {}  # topic -> payload we last published there
        self._snapshot: PanelSnapshot | None = None  # last snapshot with a known inventory
        self._live: frozenset[str] = frozenset()  # component ids of the last config
        self._built_from: object = None  # (components version, device info) last rendered

    @property
    def topic(self) -> str:
        return self._t.hass_config(self.panel_id)

    async def sync(self, snapshot: PanelSnapshot, *, force: bool = False) -> None:
        # Inventory is only trusted once the panel has been READY: a bootstrapping snapshot
        # is empty and would remove every entity (ADR-0102).
        if snapshot.connection is ConnectionState.READY:
            self._snapshot = snapshot
        await self._publish(force=force)

    async def republish(self) -> None:
        await self._publish(force=True)

    async def learn_retained(self, topic: str, payload: bytes) -> None:
        """A retained config of ours (either form; from an earlier run, or our own echo):
        remembered, so what is gone now, or in the other form, is removed."""
        try:
            config = load_json(payload) if payload else None
        except ValueError:
            config = False
        if config is None or config == {"migrate_discovery": True}:
            return  # a cleared topic, or our own move in progress
        learned = self._learn(topic, config) if isinstance(config, dict) else None
        if learned is None:  # anyone may publish there: ignored, not trusted
            log.warning("hass_retained_config_unreadable", panel=self.panel_id, topic=topic)
        elif learned:
            self._built_from = None  # what to remove or move changed: render again
            await self._publish(force=False)

    def _learn(self, topic: str, config: dict[str, Any]) -> bool | None:
        """Whether ``config`` told us something new; None when it is not one of ours."""
        new = topic not in self._retained
        if topic == self.topic:
            components = config.get("components")
            if not isinstance(components, dict):
                return None
            for cid, component in components.items():
                platform = component.get("platform") if isinstance(component, dict) else None
                if isinstance(platform, str) and len(component) > 1:
                    new = new or cid not in self._known
                    self._known.setdefault(cid, platform)
        elif not str(config.get("unique_id", "")).startswith("e27_"):
            return None
        self._retained.add(topic)
        return new

    async def _publish(self, force: bool) -> None:
        wanted = {} if self.mode == "off" else self._render(force)
        if wanted is None:
            return
        stale = sorted(self._retained - set(wanted))
        # HA moves an entity between forms when its old topic says migrate_discovery first;
        # emptying the old topic afterwards then removes nothing (ADR-0107).
        moving = [t for t in stale if self.mode != "off" and self._moves(t)]
        for topic in moving:
            await self._sink.publish(topic, MIGRATE)
        published = 0
        for topic, payload in wanted.items():
            if force or moving or self._last.get(topic) != payload:
                await self._sink.publish(topic, payload)
                published += 1
            self._last[topic] = payload
        for topic in stale:
            await self._sink.publish(topic, "")
            self._last.pop(topic, None)
        self._retained = set(wanted)
        if published or stale:
            log.info(
                "hass_discovery_published",
                panel=self.panel_id,
                mode=self.mode,
                configs=published,
                removed=stale,
            )

    def _render(self, force: bool) -> dict[str, str] | None:
        """The configs to have, or None when there is nothing to do."""
        if self._snapshot is None:
            return None
        # A state change (most snapshots) changes no component: nothing to render.
        self._builder.refresh(self._snapshot)
        built_from = (self._builder.version, self._snapshot.info)
        if not force and built_from == self._built_from:
            return None
        self._built_from = built_from
        return self._wanted(self._snapshot)

    def _wanted(self, snapshot: PanelSnapshot) -> dict[str, str]:
        """Topic -> payload of every config this panel has in the configured form."""
        live = self._builder.components(snapshot)
        self._live = frozenset(live)
        removed = {cid: p for cid, p in self._known.items() if cid not in live}
        self._known.update((cid, component["platform"]) for cid, component in live.items())
        if self.mode == "device":
            return {self.topic: _dumps(self._builder.build(snapshot, removed, live))}
        config = self._builder.build(snapshot, components=live)
        return {
            self._t.hass_component(platform, self.panel_id, cid): _dumps(flat)
            for cid, (platform, flat) in self._builder.per_component(config).items()
        }

    def _moves(self, topic: str) -> bool:
        """Does the stale ``topic`` hold an entity that lives on in the other form?"""
        if topic == self.topic:
            return True  # the device config: its live components are now per component
        parsed = self._t.parse_hass_component(topic)
        return parsed is not None and parsed[2] in self._live
