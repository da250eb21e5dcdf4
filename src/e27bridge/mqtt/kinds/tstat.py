"""Thermostats on MQTT: readings, mode, fan and setpoints (Homie), a climate entity (HA)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind
from e27bridge.mqtt.properties import PropertySpec
from e27bridge.panel.commands import Command, SetThermostat
from e27bridge.panel.state import Capabilities, Thermostat

TEMPERATURE_UNIT = "°F"  # the panel's unit; the vendor's examples are Fahrenheit (inferred)

_TO_HA_MODE = "{'OFF':'off','HEAT':'heat','COOL':'cool','AUTO':'heat_cool'}"
_FROM_HA_MODE = "{'off':'OFF','heat':'HEAT','cool':'COOL','heat_cool':'AUTO'}"
MODE_STATE_TEMPLATE = f"{{% set m = {_TO_HA_MODE} %}}{{{{ m.get(value | upper, value | lower) }}}}"
MODE_COMMAND_TEMPLATE = f"{{% set m = {_FROM_HA_MODE} %}}{{{{ m.get(value, value | upper) }}}}"


def _setpoint(
    prop: str, label: str, capabilities: Capabilities, command: Callable[[int, int], Command]
) -> PropertySpec:
    low, high = capabilities.setpoint_range
    return PropertySpec(
        prop,
        label,
        "integer",
        lambda t: getattr(t, prop.replace("-", "_")),
        f"{low}:{high}:1",
        True,
        unit=TEMPERATURE_UNIT,
        setter=setters.simple(lambda n, p: command(n, setters.integer(p, low, high))),
    )


def _mode(prop: str, label: str, command: Callable[[int, str], Command]) -> PropertySpec:
    return PropertySpec(
        prop,
        label,
        "string",
        lambda t: getattr(t, prop.replace("-", "_")),
        settable=True,
        setter=setters.simple(lambda n, p: command(n, setters.mode(p))),
    )


def properties(tstat: Thermostat, capabilities: Capabilities) -> tuple[PropertySpec, ...]:
    return (
        PropertySpec(
            "temperature", "Temperature", "float", lambda t: t.temperature, unit=TEMPERATURE_UNIT
        ),
        PropertySpec("humidity", "Humidity", "float", lambda t: t.humidity, "0:100", unit="%"),
        _mode("mode", "Mode", lambda n, v: SetThermostat(n, mode=v)),
        _mode("fan-mode", "Fan mode", lambda n, v: SetThermostat(n, fan_mode=v)),
        _setpoint(
            "heat-setpoint",
            "Heat setpoint",
            capabilities,
            lambda n, v: SetThermostat(n, heat_setpoint=v),
        ),
        _setpoint(
            "cool-setpoint",
            "Cool setpoint",
            capabilities,
            lambda n, v: SetThermostat(n, cool_setpoint=v),
        ),
        PropertySpec("battery", "Battery", "integer", lambda t: t.battery, "0:100", unit="%"),
    )


def components(ha: HassEntity, tstat: Thermostat) -> Components:
    climate: dict[str, Any] = {
        **ha.common("climate", tstat.name),
        "modes": ["off", "heat", "cool", "heat_cool"],
        "mode_state_topic": ha.topic("mode"),
        "mode_state_template": MODE_STATE_TEMPLATE,
        "mode_command_topic": ha.set("mode"),
        "mode_command_template": MODE_COMMAND_TEMPLATE,
        "fan_modes": ["auto", "on"],
        "fan_mode_state_topic": ha.topic("fan-mode"),
        "fan_mode_state_template": "{{ value | lower }}",
        "fan_mode_command_topic": ha.set("fan-mode"),
        "fan_mode_command_template": "{{ value | upper }}",
        "current_temperature_topic": ha.topic("temperature"),
        "temperature_low_state_topic": ha.topic("heat-setpoint"),
        "temperature_low_command_topic": ha.set("heat-setpoint"),
        "temperature_low_command_template": "{{ value | int }}",
        "temperature_high_state_topic": ha.topic("cool-setpoint"),
        "temperature_high_command_topic": ha.set("cool-setpoint"),
        "temperature_high_command_template": "{{ value | int }}",
        "temperature_unit": "F",
        "min_temp": 40,
        "max_temp": 99,
        "temp_step": 1,
        "precision": 1.0,
    }
    if tstat.humidity:
        climate["current_humidity_topic"] = ha.topic("humidity")
    return {ha.node: climate}


MQTT = MqttKind(properties, components)
