"""Home Assistant's own code as the checker of our discovery payloads (run by HA's Python).

Usage: ``<python with homeassistant> scripts/ha_check.py PAYLOADS.json`` prints a JSON report.
PAYLOADS.json: ``{"device": [config, ...], "component": {topic: config, ...}}``. Each device
config is validated by ``DEVICE_DISCOVERY_SCHEMA`` and expanded into its components the way
HA's discovery does; every component (of either form) goes through its platform's
``DISCOVERY_SCHEMA``. The report lists errors, the keys HA dropped (its schemas drop unknown
keys silently), and what HA makes of thermostats: a setpoint a metric user picks, converted
by HA and rendered by our command template, as HA would publish it.

This file imports only Home Assistant: it runs in HA's own virtual environment, not ours.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from homeassistant.components.mqtt.models import MqttCommandTemplate
from homeassistant.components.mqtt.schemas import DEVICE_DISCOVERY_SCHEMA
from homeassistant.const import __version__
from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template
from homeassistant.util.unit_conversion import TemperatureConverter

SHARED = (
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "command_topic",
    "payload_available",
    "payload_not_available",
    "state_topic",
)
CELSIUS_PICKS = (18, 21, 24)  # what a metric user picks for a °F thermostat


def expand(device: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """component id -> (platform, config), as HA's discovery expands a device config."""
    out = {}
    for cid, declared in device["components"].items():
        component = dict(declared)
        platform = component.pop("platform")
        if not component:
            continue  # a removal marker
        for key in SHARED:
            if key in device and key not in component:
                component[key] = device[key]
        component["device"] = device["device"]
        component["origin"] = device.get("origin")
        out[cid] = (platform, component)
    return out


def check(
    hass: HomeAssistant, name: str, platform: str, config: dict[str, Any], report: dict[str, Any]
) -> None:
    module = importlib.import_module(f"homeassistant.components.mqtt.{platform}")
    try:
        validated = module.DISCOVERY_SCHEMA(dict(config))
    except Exception as exc:  # voluptuous.Invalid and friends: reported, not raised
        report["errors"].append(f"{name}: {exc}")
        return
    dropped = sorted(set(config) - set(validated))
    if dropped:
        report["dropped"][name] = dropped
    if platform == "climate":
        report["climates"][name] = {
            key: validated.get(key)
            for key in ("min_temp", "max_temp", "temp_step", "temperature_unit", "precision")
        }
        report["climates"][name]["sent"] = setpoints(hass, validated)
    if platform == "light":
        brightness = validated.get("brightness_command_topic") is not None
        report["lights"][name] = "brightness" if brightness else "onoff"
    if platform == "alarm_control_panel":
        report["alarm_panels"][name] = sorted(validated["supported_features"])


def setpoints(hass: HomeAssistant, climate: dict[str, Any]) -> dict[str, str]:
    """What HA publishes when a metric user picks each of ``CELSIUS_PICKS``."""
    template = climate.get("temperature_low_command_template")
    if template is None or climate.get("temperature_unit") not in ("F", "°F"):
        return {}
    out = {}
    for celsius in CELSIUS_PICKS:
        value = TemperatureConverter.convert(celsius, "°C", "°F")
        out[f"{celsius} °C"] = MqttCommandTemplate(Template(template.template, hass)).async_render(
            value
        )
    return out


async def main(payloads: dict[str, Any]) -> None:
    hass = HomeAssistant(tempfile.mkdtemp())
    report: dict[str, Any] = {
        "homeassistant": __version__,
        "errors": [],
        "dropped": {},
        "climates": {},
        "lights": {},
        "alarm_panels": {},
        "checked": 0,
    }
    for index, device in enumerate(payloads.get("device", [])):
        try:
            DEVICE_DISCOVERY_SCHEMA(json.loads(json.dumps(device)))
        except Exception as exc:
            report["errors"].append(f"device[{index}]: {exc}")
            continue
        for cid, (platform, config) in expand(device).items():
            check(hass, f"device[{index}].{cid}", platform, config, report)
            report["checked"] += 1
    for topic, config in payloads.get("component", {}).items():
        check(hass, topic, topic.split("/")[-4], config, report)
        report["checked"] += 1
    await hass.async_stop(force=True)
    print(json.dumps(report, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())))
