"""Barriers on MQTT: position and command (Homie), a garage cover (HA)."""

from __future__ import annotations

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import PropertySpec, boolean, enum_format
from e27bridge.mqtt.setters import InvalidCommand
from e27bridge.panel.commands import BarrierAction, OperateBarrier
from e27bridge.panel.state import Barrier, BarrierPosition

BARRIER_ACTIONS = ("open", "close", "stop")
POSITIONS = tuple(p.value for p in BarrierPosition)


def _operate(number: int, payload: bytes) -> OperateBarrier:
    try:
        return OperateBarrier(number, BarrierAction(setters.text(payload)))
    except ValueError:
        raise InvalidCommand("unknown_action", ", ".join(BARRIER_ACTIONS)) from None


PROPERTIES = (
    PropertySpec(
        "position", "Position", "enum", lambda b: b.position.value, enum_format(POSITIONS)
    ),
    PropertySpec(
        "command",
        "Command",
        "enum",
        lambda b: None,
        enum_format(BARRIER_ACTIONS),
        settable=True,
        retained=False,
        setter=setters.simple(_operate),
    ),
    boolean("tamper", "Tamper"),
    boolean("low_battery", "Low battery"),
)


def components(ha: HassEntity, barrier: Barrier) -> Components:
    return {
        ha.node: {
            **ha.common("cover", barrier.name),
            "device_class": "garage",
            "state_topic": ha.topic("position"),
            "value_template": "{{ 'None' if value == 'unknown' else value }}",
            "command_topic": ha.set("command"),
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


MQTT = MqttKind(fixed(*PROPERTIES), components)
