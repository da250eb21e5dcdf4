"""Home Assistant components of an entity whose commands are always refused.

A read-only panel (or a node outside the allow-list) must not show controls that can only
fail: each control becomes the read-only entity kind that shows the same state (alarm
panel -> sensor, switch/light -> binary_sensor, lock -> lock binary_sensor, climate ->
temperature sensor, garage cover -> sensor); buttons go. The read-only variant has its own
component id and unique id, so switching modes removes the other mode's components (HA
cannot change a component's platform in place).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from e27bridge.mqtt.kinds.base import Components

SUFFIX = "readonly"

# Kept from the control as it is: identity, availability and attributes.
_COMMON = (
    "name",
    "qos",
    "availability",
    "availability_mode",
    "json_attributes_topic",
    "json_attributes_template",
)
_SENSORS = ("binary_sensor", "sensor", "event")


def read_only_components(components: Components) -> Components:
    """``components`` (of one entity) with every control replaced by its read-only kind."""
    out: Components = {}
    for cid, component in components.items():
        platform = component["platform"]
        if platform in _SENSORS:
            out[cid] = component
            continue
        convert = _CONVERT.get(platform)
        if convert is not None:
            out[f"{cid}-{SUFFIX}"] = convert(component)
    return out


def _base(component: dict[str, Any], platform: str) -> dict[str, Any]:
    obj = component["default_entity_id"].split(".", 1)[1]
    base = {k: component[k] for k in _COMMON if k in component}
    base |= {
        "platform": platform,
        "unique_id": f"{component['unique_id']}_{SUFFIX}",
        "default_entity_id": f"{platform}.{obj}",
    }
    if "entity_category" in component:  # HA allows no 'config' category on a sensor
        base["entity_category"] = "diagnostic"
    return base


def _alarm_panel(c: dict[str, Any]) -> dict[str, Any]:
    return {**_base(c, "sensor"), "state_topic": c["state_topic"]}


def _switch(c: dict[str, Any]) -> dict[str, Any]:
    return {
        **_base(c, "binary_sensor"),
        "state_topic": c["state_topic"],
        "payload_on": c["state_on"],
        "payload_off": c["state_off"],
    }


def _light(c: dict[str, Any]) -> dict[str, Any]:
    return {
        **_base(c, "binary_sensor"),
        "device_class": "light",
        "state_topic": c["state_topic"],
        "payload_on": c["payload_on"],
        "payload_off": c["payload_off"],
    }


def _lock(c: dict[str, Any]) -> dict[str, Any]:
    # The lock device class is "on" when unlocked.
    return {
        **_base(c, "binary_sensor"),
        "device_class": "lock",
        "state_topic": c["state_topic"],
        "payload_on": c["state_unlocked"],
        "payload_off": c["state_locked"],
    }


def _climate(c: dict[str, Any]) -> dict[str, Any]:
    return {
        **_base(c, "sensor"),
        "state_topic": c["current_temperature_topic"],
        "device_class": "temperature",
        "unit_of_measurement": f"°{c['temperature_unit']}",
        "state_class": "measurement",
    }


def _cover(c: dict[str, Any]) -> dict[str, Any]:
    return {**_base(c, "sensor"), "state_topic": c["state_topic"]}


_CONVERT: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "alarm_control_panel": _alarm_panel,
    "switch": _switch,
    "light": _light,
    "lock": _lock,
    "climate": _climate,
    "cover": _cover,
}
