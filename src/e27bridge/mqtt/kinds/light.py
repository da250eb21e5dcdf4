"""Lights on MQTT: on and level (Homie), a light with brightness (HA); a light the panel
reports not dimmable is on/off only, with no ``level`` to set (ADR-0207)."""

from __future__ import annotations

from typing import Any

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind
from e27bridge.mqtt.properties import PropertySpec, boolean
from e27bridge.panel.commands import SetLight
from e27bridge.panel.state import Capabilities, Light

LIGHT_ON_LEVEL = 99  # the engine sets lights by level only; "on" means full level


def _on(number: int, payload: bytes) -> SetLight:
    return SetLight(number, LIGHT_ON_LEVEL if setters.boolean(payload) else 0)


def _level(number: int, payload: bytes) -> SetLight:
    return SetLight(number, setters.integer(payload, 0, 99))


ON = boolean("on", "On", setters.simple(_on))
LEVEL = PropertySpec(
    "level",
    "Level",
    "integer",
    lambda li: li.level,
    "0:99",
    True,
    unit="%",
    setter=setters.simple(_level),
)


def properties(light: Light, capabilities: Capabilities) -> tuple[PropertySpec, ...]:
    return (ON, LEVEL) if light.dimmable else (ON,)


def components(ha: HassEntity, light: Light) -> Components:
    config: dict[str, Any] = {
        **ha.common("light", light.name),
        "schema": "basic",
        "state_topic": ha.topic("on"),
        "command_topic": ha.set("on"),
        "payload_on": "true",
        "payload_off": "false",
    }
    if light.dimmable:
        config |= {
            "brightness_state_topic": ha.topic("level"),
            "brightness_command_topic": ha.set("level"),
            "brightness_scale": 99,
            "on_command_type": "brightness",
        }
    return {ha.node: config}


MQTT = MqttKind(properties, components)
