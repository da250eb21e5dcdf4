"""Thermostats on MQTT: readings, mode, fan and setpoints (Homie), a climate entity (HA).

Unit and setpoint limits are what the panel reports for each thermostat (ADR-0208), the
same in Homie ``$format``/``unit``, HA ``min_temp``/``max_temp``/``temperature_unit`` and
``/set`` validation; setpoints are whole degrees on the wire, so the step is 1 and a value
HA converted from the other unit is rounded, not truncated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind
from e27bridge.mqtt.properties import PropertySpec
from e27bridge.panel.commands import Command, SetThermostat
from e27bridge.panel.state import Capabilities, Thermostat

UNIT_SYMBOLS = {"F": "°F", "C": "°C"}
SETPOINT_STEP = 1  # setpoints are whole degrees as JSON integers (protocol §13.5)
# HA passes a setpoint converted from the user's unit (21 °C -> 69.8 °F): nearest degree.
SETPOINT_COMMAND_TEMPLATE = "{{ value | round | int }}"

_TO_HA_MODE = "{'OFF':'off','HEAT':'heat','COOL':'cool','AUTO':'heat_cool'}"
_FROM_HA_MODE = "{'off':'OFF','heat':'HEAT','cool':'COOL','heat_cool':'AUTO'}"
MODE_STATE_TEMPLATE = f"{{% set m = {_TO_HA_MODE} %}}{{{{ m.get(value | upper, value | lower) }}}}"
MODE_COMMAND_TEMPLATE = f"{{% set m = {_FROM_HA_MODE} %}}{{{{ m.get(value, value | upper) }}}}"


def setpoint_limits(tstat: Thermostat, capabilities: Capabilities) -> tuple[int, int]:
    """What this thermostat reports it accepts, within what the panel accepts at all."""
    low, high = capabilities.setpoint_range
    own_low, own_high = tstat.setpoint_range or (low, high)
    low, high = max(low, own_low), min(high, own_high)
    return (low, high) if low <= high else capabilities.setpoint_range


def _setpoint(
    prop: str,
    label: str,
    tstat: Thermostat,
    capabilities: Capabilities,
    command: Callable[[int, int], Command],
) -> PropertySpec:
    low, high = setpoint_limits(tstat, capabilities)
    return PropertySpec(
        prop,
        label,
        "integer",
        lambda t: getattr(t, prop.replace("-", "_")),
        f"{low}:{high}:{SETPOINT_STEP}",
        True,
        unit=UNIT_SYMBOLS[tstat.unit],
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
    unit = UNIT_SYMBOLS[tstat.unit]
    return (
        PropertySpec("temperature", "Temperature", "float", lambda t: t.temperature, unit=unit),
        PropertySpec("humidity", "Humidity", "float", lambda t: t.humidity, "0:100", unit="%"),
        _mode("mode", "Mode", lambda n, v: SetThermostat(n, mode=v)),
        _mode("fan-mode", "Fan mode", lambda n, v: SetThermostat(n, fan_mode=v)),
        _setpoint(
            "heat-setpoint",
            "Heat setpoint",
            tstat,
            capabilities,
            lambda n, v: SetThermostat(n, heat_setpoint=v),
        ),
        _setpoint(
            "cool-setpoint",
            "Cool setpoint",
            tstat,
            capabilities,
            lambda n, v: SetThermostat(n, cool_setpoint=v),
        ),
        PropertySpec("battery", "Battery", "integer", lambda t: t.battery, "0:100", unit="%"),
    )


def components(ha: HassEntity, tstat: Thermostat) -> Components:
    low, high = setpoint_limits(tstat, ha.capabilities)
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
        "temperature_low_command_template": SETPOINT_COMMAND_TEMPLATE,
        "temperature_high_state_topic": ha.topic("cool-setpoint"),
        "temperature_high_command_topic": ha.set("cool-setpoint"),
        "temperature_high_command_template": SETPOINT_COMMAND_TEMPLATE,
        "temperature_unit": tstat.unit,
        "min_temp": low,
        "max_temp": high,
        "temp_step": SETPOINT_STEP,
        # The current temperature: tenths in °C (the panel's ``prec``), whole °F.
        "precision": 0.1 if tstat.unit == "C" else 1.0,
    }
    if tstat.humidity:
        climate["current_humidity_topic"] = ha.topic("humidity")
    return {ha.node: climate}


MQTT = MqttKind(properties, components)
