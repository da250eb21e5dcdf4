"""Outputs on MQTT: a settable ``on`` (Homie), a switch (HA)."""

from __future__ import annotations

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import boolean
from e27bridge.panel.commands import SetOutput
from e27bridge.panel.state import Output


def components(ha: HassEntity, output: Output) -> Components:
    return {ha.node: {**ha.common("switch", output.name), **ha.bool_switch("on")}}


SWITCH = setters.simple(lambda n, p: SetOutput(n, setters.boolean(p)))
MQTT = MqttKind(fixed(boolean("on", "On", SWITCH)), components)
