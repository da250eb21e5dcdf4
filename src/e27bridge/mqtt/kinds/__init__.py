"""The kinds published on MQTT, in publication order: one module each, one line here.

Keyed by the engine's ``EntityKind`` (ADR-0008); an engine kind missing here would have
no Homie node and no Home Assistant component.
"""

from __future__ import annotations

from e27bridge.mqtt.kinds import area, barrier, keypad, light, lock, output, tstat, zone
from e27bridge.mqtt.kinds.base import MqttKind
from e27bridge.panel.kinds.base import Registry
from e27bridge.panel.state import EntityKind

MQTT_KINDS: Registry[EntityKind, MqttKind] = Registry(
    {
        EntityKind.AREA: area.MQTT,
        EntityKind.ZONE: zone.MQTT,
        EntityKind.OUTPUT: output.MQTT,
        EntityKind.LIGHT: light.MQTT,
        EntityKind.LOCK: lock.MQTT,
        EntityKind.TSTAT: tstat.MQTT,
        EntityKind.BARRIER: barrier.MQTT,
        EntityKind.KEYPAD: keypad.MQTT,
    }
)
