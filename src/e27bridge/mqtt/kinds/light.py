"""Lights on MQTT: on and level (Homie), a light with brightness (HA)."""

from __future__ import annotations

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import PropertySpec, boolean
from e27bridge.panel.commands import SetLight
from e27bridge.panel.state import Light

LIGHT_ON_LEVEL = 99  # the engine sets lights by level only; "on" means full level


def _on(number: int, payload: bytes) -> SetLight:
    return SetLight(number, LIGHT_ON_LEVEL if setters.boolean(payload) else 0)


def _level(number: int, payload: bytes) -> SetLight:
    return SetLight(number, setters.integer(payload, 0, 99))


PROPERTIES = (
    boolean("on", "On", setters.simple(_on)),
    PropertySpec(
        "level",
        "Level",
        "integer",
        lambda li: li.level,
        "0:99",
        True,
        unit="%",
        setter=setters.simple(_level),
    ),
)


def components(ha: HassEntity, light: Light) -> Components:
    return {
        ha.node: {
            **ha.common("light", light.name),
            "schema": "basic",
            "state_topic": ha.topic("on"),
            "command_topic": ha.set("on"),
            "payload_on": "true",
            "payload_off": "false",
            "brightness_state_topic": ha.topic("level"),
            "brightness_command_topic": ha.set("level"),
            "brightness_scale": 99,
            "on_command_type": "brightness",
        }
    }


MQTT = MqttKind(fixed(*PROPERTIES), components)
