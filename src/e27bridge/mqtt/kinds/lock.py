"""Locks on MQTT: a settable ``locked`` (Homie), a lock (HA)."""

from __future__ import annotations

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.properties import boolean
from e27bridge.panel.commands import SetLock
from e27bridge.panel.state import Lock


def components(ha: HassEntity, lock: Lock) -> Components:
    return {
        ha.node: {
            **ha.common("lock", lock.name),
            "state_topic": ha.topic("locked"),
            "command_topic": ha.set("locked"),
            "payload_lock": "true",
            "payload_unlock": "false",
            "state_locked": "true",
            "state_unlocked": "false",
        }
    }


LOCK = setters.simple(lambda n, p: SetLock(n, setters.boolean(p)))
MQTT = MqttKind(fixed(boolean("locked", "Locked", LOCK)), components)
