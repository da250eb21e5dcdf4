"""Keypads on MQTT: their area (Homie); nothing for Home Assistant."""

from __future__ import annotations

from e27bridge.mqtt.kinds.base import MqttKind, fixed
from e27bridge.mqtt.properties import PropertySpec

MQTT = MqttKind(fixed(PropertySpec("area", "Area", "integer", lambda k: k.area_id)))
