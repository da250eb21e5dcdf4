"""Home Assistant device-based discovery: one retained config per panel.

Entities point at the Homie topics (one source of truth). Components that were published
before (by this process or found retained on the broker) and no longer exist are sent as
``{"platform": ...}`` so Home Assistant removes them instead of leaving ghosts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from e27bridge import __version__
from e27bridge.mqtt.inbound import load_json
from e27bridge.mqtt.nodes import ARM_ACTIONS
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import SYSTEM_NODE, Topics, mac12, node_id
from e27bridge.panel.state import (
    Area,
    ArmMode,
    Barrier,
    ConnectionState,
    EntityKind,
    Light,
    Lock,
    Output,
    PanelSnapshot,
    Thermostat,
    Zone,
)

log = structlog.get_logger(__name__)

MANUFACTURER = "Elk Products"
SUPPORT_URL = "https://github.com/e27bridge/e27bridge/issues"
QOS = 1

# Event types of the ``<base>/<panel>/event`` stream (events.py normalises to these).
EVENT_TYPES = ("armed", "disarmed", "alarm", "alarm_cleared", "bypass", "trouble", "log", "other")

COMMAND_TEMPLATE = '{"action":"{{ action }}","code":"{{ code }}"}'
_TO_HA_MODE = "{'OFF':'off','HEAT':'heat','COOL':'cool','AUTO':'heat_cool'}"
_FROM_HA_MODE = "{'off':'OFF','heat':'HEAT','cool':'COOL','heat_cool':'AUTO'}"
MODE_STATE_TEMPLATE = f"{{% set m = {_TO_HA_MODE} %}}{{{{ m.get(value | upper, value | lower) }}}}"
MODE_COMMAND_TEMPLATE = f"{{% set m = {_FROM_HA_MODE} %}}{{{{ m.get(value, value | upper) }}}}"
AVAILABLE_TEMPLATE = "{{ 'ready' if value == 'ready' else 'offline' }}"

# Zone definition (as the panel names it) -> binary_sensor device class; first match wins.
_ZONE_CLASSES: tuple[tuple[str, str], ...] = (
    (r"FIRE|SMOKE", "smoke"),
    (r"^CO$|CARBON", "carbon_monoxide"),
    (r"WATER|FLOOD", "moisture"),
    (r"GAS", "gas"),
    (r"FREEZE|TEMP|COLD", "cold"),
    (r"HEAT", "heat"),
    (r"TAMPER", "tamper"),
    (r"POWER|AC_", "power"),
    (r"INTERIOR|MOTION", "motion"),
    (r"PERIM|ENTRY|EXIT|DOOR", "door"),
    (r"WINDOW", "window"),
    (r"PANIC|MEDICAL|EMERG|24HR|24_H|AUX", "safety"),
    (r"NON_ALARM", "opening"),
)


def zone_device_class(definition: str | None) -> str | None:
    """The HA device class for a zone definition name (None: a plain binary sensor)."""
    if not definition:
        return None
    name = definition.upper()
    return next((cls for pattern, cls in _ZONE_CLASSES if re.search(pattern, name)), None)


# Life-safety zones: a bypass switch for them is not offered (panels refuse or should).
_NEVER_BYPASS = re.compile(r"FIRE|SMOKE|^CO$|CARBON|GAS|HEAT")


def zone_bypassable(definition: str | None) -> bool:
    return not (definition and _NEVER_BYPASS.search(definition.upper()))


@dataclass(frozen=True, slots=True)
class Origin:
    name: str = "e27bridge"
    sw_version: str = __version__
    support_url: str = SUPPORT_URL

    def payload(self) -> dict[str, str]:
        return {"name": self.name, "sw_version": self.sw_version, "support_url": self.support_url}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "panel"


def entity_name(name: str, device_name: str) -> str:
    """Entity names never start with the device name (HA 2023.8 naming rules)."""
    if device_name and name.lower().startswith(device_name.lower() + " "):
        return name[len(device_name) + 1 :].strip() or name
    return name


class ConfigBuilder:
    """Pure builder of one panel's device config from a (overridden) snapshot."""

    def __init__(
        self,
        topics: Topics,
        panel_id: str,
        overrides: PanelOverrides,
        origin: Origin,
        arm_modes: tuple[ArmMode, ...],
    ) -> None:
        self._t = topics
        self._panel_id = panel_id
        self._overrides = overrides
        self._origin = origin
        self._arm_modes = arm_modes
        self._mac = ""
        self._device_name = ""

    def build(
        self, snapshot: PanelSnapshot, removed: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        components = self.components(snapshot)
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

    def components(self, snapshot: PanelSnapshot) -> dict[str, dict[str, Any]]:
        self._mac = mac12(snapshot.info.mac)
        self._device_name = snapshot.info.name or snapshot.panel_id
        out: dict[str, dict[str, Any]] = {}
        for area in snapshot.areas.values():
            out.update(self._area(area))
        for zone in snapshot.zones.values():
            out.update(self._zone(zone))
        for output in snapshot.outputs.values():
            out.update(self._output(output))
        for light in snapshot.lights.values():
            out.update(self._light(light))
        for lock in snapshot.locks.values():
            out.update(self._lock(lock))
        for tstat in snapshot.tstats.values():
            out.update(self._tstat(tstat))
        for barrier in snapshot.barriers.values():
            out.update(self._barrier(barrier))
        out.update(self._system())
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
        return [
            {
                "topic": self._t.state(device),
                "value_template": AVAILABLE_TEMPLATE,
                "payload_available": "ready",
                "payload_not_available": "offline",
            }
            for device in devices
        ]

    def _topic(self, node: str, prop: str) -> str:
        return self._t.prop(self._panel_id, node, prop)

    def _set(self, node: str, prop: str) -> str:
        return self._t.set(self._panel_id, node, prop)

    def _common(
        self, platform: str, kind: str, number: int, name: str | None, suffix: str = ""
    ) -> dict[str, Any]:
        unique = f"e27_{self._mac}_{kind}_{number}" + (f"_{suffix}" if suffix else "")
        obj = f"{_slug(self._panel_id)}_{kind}_{number}" + (f"_{suffix}" if suffix else "")
        return {
            "platform": platform,
            "unique_id": unique,
            "default_entity_id": f"{platform}.{obj}",
            "name": None if name is None else entity_name(name, self._device_name),
            "qos": QOS,
        }

    def _bool_switch(self, node: str, prop: str) -> dict[str, Any]:
        return {
            "state_topic": self._topic(node, prop),
            "command_topic": self._set(node, prop),
            "payload_on": "true",
            "payload_off": "false",
            "state_on": "true",
            "state_off": "false",
        }

    # -- entity kinds ----------------------------------------------------------------------
    def _area(self, area: Area) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.AREA, area.id)
        features = [ARM_ACTIONS[m] for m in self._arm_modes if m in ARM_ACTIONS]
        panel = {
            **self._common("alarm_control_panel", "area", area.id, area.name),
            "state_topic": self._topic(nid, "state"),
            "command_topic": self._set(nid, "command"),
            "command_template": COMMAND_TEMPLATE,
            "code": "REMOTE_CODE",
            "supported_features": features,
            "payload_arm_away": "arm_away",
            "payload_arm_home": "arm_home",
            "payload_disarm": "disarm",
            "json_attributes_topic": self._topic(nid, "troubles"),
            "json_attributes_template": "{{ {'troubles': value_json} | tojson }}",
        }
        chime = {
            **self._common("switch", "area", area.id, f"{area.name} chime", "chime"),
            **self._bool_switch(nid, "chime"),
            "entity_category": "config",
        }
        return {nid: panel, f"{nid}-chime": chime}

    def _zone(self, zone: Zone) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.ZONE, zone.id)
        sensor = {
            **self._common("binary_sensor", "zone", zone.id, zone.name),
            "state_topic": self._topic(nid, "open"),
            "payload_on": "true",
            "payload_off": "false",
        }
        device_class = self._overrides.device_class(EntityKind.ZONE, zone.id)
        device_class = device_class or zone_device_class(zone.definition)
        if device_class:
            sensor["device_class"] = device_class
        if self._overrides.bypass_code is None or not zone_bypassable(zone.definition):
            return {nid: sensor}  # a switch cannot carry a code: only with a configured one
        bypass = {
            **self._common("switch", "zone", zone.id, f"{zone.name} bypass", "bypass"),
            **self._bool_switch(nid, "bypassed"),
            "entity_category": "config",
        }
        return {nid: sensor, f"{nid}-bypass": bypass}

    def _output(self, output: Output) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.OUTPUT, output.id)
        return {
            nid: {
                **self._common("switch", "output", output.id, output.name),
                **self._bool_switch(nid, "on"),
            }
        }

    def _light(self, light: Light) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.LIGHT, light.id)
        return {
            nid: {
                **self._common("light", "light", light.id, light.name),
                "schema": "basic",
                "state_topic": self._topic(nid, "on"),
                "command_topic": self._set(nid, "on"),
                "payload_on": "true",
                "payload_off": "false",
                "brightness_state_topic": self._topic(nid, "level"),
                "brightness_command_topic": self._set(nid, "level"),
                "brightness_scale": 99,
                "on_command_type": "brightness",
            }
        }

    def _lock(self, lock: Lock) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.LOCK, lock.id)
        return {
            nid: {
                **self._common("lock", "lock", lock.id, lock.name),
                "state_topic": self._topic(nid, "locked"),
                "command_topic": self._set(nid, "locked"),
                "payload_lock": "true",
                "payload_unlock": "false",
                "state_locked": "true",
                "state_unlocked": "false",
            }
        }

    def _tstat(self, tstat: Thermostat) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.TSTAT, tstat.id)
        climate: dict[str, Any] = {
            **self._common("climate", "tstat", tstat.id, tstat.name),
            "modes": ["off", "heat", "cool", "heat_cool"],
            "mode_state_topic": self._topic(nid, "mode"),
            "mode_state_template": MODE_STATE_TEMPLATE,
            "mode_command_topic": self._set(nid, "mode"),
            "mode_command_template": MODE_COMMAND_TEMPLATE,
            "fan_modes": ["auto", "on"],
            "fan_mode_state_topic": self._topic(nid, "fan-mode"),
            "fan_mode_state_template": "{{ value | lower }}",
            "fan_mode_command_topic": self._set(nid, "fan-mode"),
            "fan_mode_command_template": "{{ value | upper }}",
            "current_temperature_topic": self._topic(nid, "temperature"),
            "temperature_low_state_topic": self._topic(nid, "heat-setpoint"),
            "temperature_low_command_topic": self._set(nid, "heat-setpoint"),
            "temperature_low_command_template": "{{ value | int }}",
            "temperature_high_state_topic": self._topic(nid, "cool-setpoint"),
            "temperature_high_command_topic": self._set(nid, "cool-setpoint"),
            "temperature_high_command_template": "{{ value | int }}",
            "temperature_unit": "F",
            "min_temp": 40,
            "max_temp": 99,
            "temp_step": 1,
            "precision": 1.0,
        }
        if tstat.humidity:
            climate["current_humidity_topic"] = self._topic(nid, "humidity")
        return {nid: climate}

    def _barrier(self, barrier: Barrier) -> dict[str, dict[str, Any]]:
        nid = node_id(EntityKind.BARRIER, barrier.id)
        return {
            nid: {
                **self._common("cover", "barrier", barrier.id, barrier.name),
                "device_class": "garage",
                "state_topic": self._topic(nid, "position"),
                "value_template": "{{ 'None' if value == 'unknown' else value }}",
                "command_topic": self._set(nid, "command"),
                "payload_open": "open",
                "payload_close": "close",
                "payload_stop": "stop",
                "state_open": "open",
                "state_opening": "opening",
                "state_closed": "closed",
                "state_closing": "closing",
                "state_stopped": "stopped",
            }
        }

    def _system(self) -> dict[str, dict[str, Any]]:
        n = SYSTEM_NODE

        def diag(platform: str, prop: str, name: str) -> dict[str, Any]:
            return {
                **self._common(platform, "system", 0, name, prop.replace("-", "_")),
                "entity_category": "diagnostic",
            }

        return {
            "system-connection": {
                **diag("binary_sensor", "connection", "Panel connection"),
                "device_class": "connectivity",
                "state_topic": self._topic(n, "connection"),
                "value_template": "{{ 'ON' if value == 'ready' else 'OFF' }}",
                # Must stay available while the panel is down: it reports exactly that.
                "availability": self._availability(panel=False),
            },
            "system-troubles": {
                **diag("binary_sensor", "troubles", "Troubles"),
                "device_class": "problem",
                "state_topic": self._topic(n, "troubles"),
                "value_template": "{{ 'ON' if value_json | length > 0 else 'OFF' }}",
                "json_attributes_topic": self._topic(n, "troubles"),
                "json_attributes_template": "{{ {'troubles': value_json} | tojson }}",
            },
            "system-rtt": {
                **diag("sensor", "rtt", "Round-trip time"),
                "state_topic": self._topic(n, "rtt"),
                "device_class": "duration",
                "unit_of_measurement": "ms",
                "state_class": "measurement",
                "suggested_display_precision": 0,
            },
            "system-queue-depth": {
                **diag("sensor", "queue-depth", "Queue depth"),
                "state_topic": self._topic(n, "queue-depth"),
                "state_class": "measurement",
            },
            "system-reconnects": {
                **diag("sensor", "reconnects", "Reconnects"),
                "state_topic": self._topic(n, "reconnects"),
                "state_class": "total_increasing",
                "availability": self._availability(panel=False),
            },
            "system-last-error": {
                **diag("sensor", "last-error", "Last error"),
                "state_topic": self._topic(n, "last-error"),
                "value_template": "{{ value | replace('\\x00', '') }}",
                "availability": self._availability(panel=False),
            },
            "system-events": {
                **self._common("event", "system", 0, "Events", "events"),
                "state_topic": self._t.panel_event(self._panel_id),
                "event_types": list(EVENT_TYPES),
            },
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class HassPanel:
    """Publishes one panel's discovery config when its inventory is known and changes."""

    def __init__(self, topics: Topics, sink: Sink, panel_id: str, builder: ConfigBuilder) -> None:
        self._t = topics
        self._sink = sink
        self.panel_id = panel_id
        self._builder = builder
        self._known: dict[str, str] = {}  # component id -> platform, ever published live
        self._snapshot: PanelSnapshot | None = None  # last snapshot with a known inventory
        self._last: str | None = None

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

    async def learn_retained(self, payload: bytes) -> None:
        """A retained config (ours, from an earlier run): remember its live components."""
        try:
            config = load_json(payload) if payload else {}
        except ValueError:
            config = None
        components = config.get("components", {}) if isinstance(config, dict) else None
        if not isinstance(components, dict):  # anyone may publish there: ignored, not trusted
            log.warning("hass_retained_config_unreadable", panel=self.panel_id)
            return
        learned = False
        for cid, component in components.items():
            platform = component.get("platform") if isinstance(component, dict) else None
            if isinstance(platform, str) and len(component) > 1:
                learned = learned or cid not in self._known
                self._known.setdefault(cid, platform)
        if learned:
            await self._publish(force=False)

    async def _publish(self, force: bool) -> None:
        if self._snapshot is None:
            return
        live = self._builder.components(self._snapshot)
        removed = {cid: p for cid, p in self._known.items() if cid not in live}
        config = self._builder.build(self._snapshot, removed)
        payload = _dumps(config)
        if payload == self._last and not force:
            return
        await self._sink.publish(self.topic, payload)
        self._last = payload
        for cid, component in live.items():
            self._known[cid] = component["platform"]
        log.info(
            "hass_discovery_published",
            panel=self.panel_id,
            topic=self.topic,
            components=len(live),
            removed=sorted(removed),
        )
