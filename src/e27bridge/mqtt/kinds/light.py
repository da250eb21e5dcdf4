"""Lights on MQTT: on and level (Homie), a light with brightness (HA)."""

from __future__ import annotations

from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import PropertySpec
from e27bridge.panel.state import Light

PROPERTIES = (
    PropertySpec("on", "On", "boolean", lambda li: li.on, settable=True),
    PropertySpec("level", "Level", "integer", lambda li: li.level, "0:99", True, unit="%"),
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
