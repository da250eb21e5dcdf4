"""Outputs on MQTT: a settable ``on`` (Homie), a switch (HA)."""

from __future__ import annotations

from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import PropertySpec
from e27bridge.panel.state import Output


def components(ha: HassEntity, output: Output) -> Components:
    return {ha.node: {**ha.common("switch", output.name), **ha.bool_switch("on")}}


MQTT = MqttKind(
    fixed(PropertySpec("on", "On", "boolean", lambda o: o.on, settable=True)), components
)
