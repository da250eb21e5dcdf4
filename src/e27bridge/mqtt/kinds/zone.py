"""Zones on MQTT: flags and a bypass command (Homie), binary sensor and bypass switch (HA)."""

from __future__ import annotations

import re

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import PropertySpec, boolean, command
from e27bridge.mqtt.setters import InvalidCommand, Parsed, SetRequest
from e27bridge.panel.commands import BypassZone
from e27bridge.panel.kinds.zone import zone_bypassable
from e27bridge.panel.state import EntityKind, Zone

ZONE_ACTIONS = ("bypass", "unbypass")

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


def bypass(request: SetRequest, payload: bytes) -> Parsed:
    """``{"action": "bypass", "code": "1234"}``."""
    body = setters.json_command(payload)
    bypassed = setters.action(body, ZONE_ACTIONS) == "bypass"
    return Parsed(BypassZone(request.number, bypassed, setters.code(body)), body.get("transaction"))


def bypass_switch(request: SetRequest, payload: bytes) -> Parsed:
    """``true``/``false`` with the configured bypass code (a switch cannot carry one)."""
    bypassed = setters.boolean(payload)
    if request.bypass_code is None:
        raise InvalidCommand(
            "code_required",
            "the bypass switch uses the panel's bypass_code from the bridge configuration, "
            "and none is set; or send zone-N/command with a code",
        )
    return Parsed(BypassZone(request.number, bypassed, request.bypass_code))


PROPERTIES = (
    PropertySpec("open", "Open", "boolean", lambda z: z.violated),
    boolean("bypassed", "Bypassed", bypass_switch),
    boolean("trouble", "Trouble"),
    boolean("tamper", "Tamper"),
    boolean("alarm", "Alarm", urgent=True),
    boolean("low_battery", "Low battery"),
    boolean("enabled", "Enabled"),
    PropertySpec("definition", "Definition", "string", lambda z: z.definition),
    PropertySpec("area", "Area", "integer", lambda z: z.area_id),
    PropertySpec("rssi", "Signal strength", "integer", lambda z: z.rssi),
    command(ZONE_ACTIONS, bypass),
)


def components(ha: HassEntity, zone: Zone) -> Components:
    sensor = {
        **ha.common("binary_sensor", zone.name),
        "state_topic": ha.topic("open"),
        "payload_on": "true",
        "payload_off": "false",
    }
    device_class = ha.overrides.device_class(EntityKind.ZONE, zone.id)
    device_class = device_class or zone_device_class(zone.definition)
    if device_class:
        sensor["device_class"] = device_class
    if ha.overrides.bypass_code is None or not zone_bypassable(zone.definition):
        return {ha.node: sensor}  # a switch cannot carry a code: only with a configured one
    bypass = {
        **ha.common("switch", f"{zone.name} bypass", "bypass"),
        **ha.bool_switch("bypassed"),
        "entity_category": "config",
    }
    return {ha.node: sensor, f"{ha.node}-bypass": bypass}


MQTT = MqttKind(fixed(*PROPERTIES), components)
