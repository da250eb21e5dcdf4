"""Entities that match the panel: what a light or thermostat reports of itself decides its
Homie properties, its Home Assistant entity and what a ``/set`` may ask (issue 11 item 2)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jinja2
import pytest

from e27bridge.mqtt.commands import InvalidCommand, parse_command
from e27bridge.mqtt.hass import ConfigBuilder, Origin
from e27bridge.mqtt.kinds.tstat import SETPOINT_COMMAND_TEMPLATE
from e27bridge.mqtt.nodes import panel_nodes
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.commands import SetLight, SetThermostat
from e27bridge.panel.state import ArmMode, Capabilities, EntityKind, Light, PanelSnapshot

from .factories import snapshot
from .schemas import hass_errors

ARM = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)


def panel() -> PanelSnapshot:
    snap = snapshot()
    snap = snap.with_entities(
        EntityKind.LIGHT,
        {1: Light(1, "Porch", level=0), 2: Light(2, "Hall", level=99, dimmable=False)},
    )
    celsius = replace(snap.tstats[1], unit="C", setpoint_range=(5, 35), heat_setpoint=20)
    return snap.with_entities(EntityKind.TSTAT, {1: celsius})


def components(snap: PanelSnapshot) -> dict[str, Any]:
    config = ConfigBuilder(Topics(), "home", PanelOverrides(), Origin()).build(snap)
    assert hass_errors(config) == []
    return config["components"]  # type: ignore[no-any-return]


def set_(snap: PanelSnapshot, node: str, prop: str, payload: bytes) -> object:
    return parse_command(panel_nodes(snap), node, prop, payload, ARM).command


def test_a_light_the_panel_cannot_dim_is_on_off_only() -> None:
    snap = panel()
    nodes = panel_nodes(snap)
    assert [p.id for p in nodes["light-1"].properties] == ["on", "level"]
    assert [p.id for p in nodes["light-2"].properties] == ["on"]
    lights = components(snap)
    assert lights["light-1"]["brightness_command_topic"] == "homie/5/home/light-1/level/set"
    assert not [key for key in lights["light-2"] if key.startswith(("brightness", "on_command"))]
    assert set_(snap, "light-2", "on", b"true") == SetLight(2, 99)
    assert set_(snap, "light-1", "level", b"50") == SetLight(1, 50)
    with pytest.raises(InvalidCommand) as refused:
        set_(snap, "light-2", "level", b"50")
    assert refused.value.reason == "unknown_property"


def test_thermostat_unit_and_limits_are_the_reported_ones_in_homie_and_hass() -> None:
    snap = panel()
    tstat = panel_nodes(snap)["tstat-1"]
    for prop in ("heat-setpoint", "cool-setpoint"):
        spec = tstat.property(prop)
        assert spec is not None and (spec.format, spec.unit) == ("5:35:1", "°C")
    temperature = tstat.property("temperature")
    assert temperature is not None and temperature.unit == "°C"
    climate = components(snap)["tstat-1"]
    assert (climate["min_temp"], climate["max_temp"], climate["temp_step"]) == (5, 35, 1)
    assert (climate["temperature_unit"], climate["precision"]) == ("C", 0.1)
    assert set_(snap, "tstat-1", "heat-setpoint", b"35") == SetThermostat(1, heat_setpoint=35)
    with pytest.raises(InvalidCommand) as refused:
        set_(snap, "tstat-1", "heat-setpoint", b"36")
    assert refused.value.reason == "out_of_range"


def test_without_reported_limits_the_panels_own_apply_and_fahrenheit() -> None:
    snap = replace(snapshot(), capabilities=Capabilities(setpoint_range=(45, 90)))
    climate = components(snap)["tstat-1"]
    assert (climate["min_temp"], climate["max_temp"], climate["temperature_unit"]) == (45, 90, "F")
    assert climate["precision"] == 1.0
    heat = panel_nodes(snap)["tstat-1"].property("heat-setpoint")
    assert heat is not None and (heat.format, heat.unit) == ("45:90:1", "°F")
    # A thermostat's own range narrows the panel's; one outside it leaves the panel's.
    snap = panel()
    narrowed = replace(snap, capabilities=Capabilities(setpoint_range=(10, 30)))
    assert (
        components(narrowed)["tstat-1"]["min_temp"],
        components(narrowed)["tstat-1"]["max_temp"],
    ) == (10, 30)
    apart = replace(snap, capabilities=Capabilities(setpoint_range=(40, 99)))
    assert components(apart)["tstat-1"]["min_temp"] == 40


@pytest.mark.parametrize(
    ("converted", "sent"), [(69.8, "70"), (69.4, "69"), (21.1, "21"), (21.6, "22"), (70, "70")]
)
def test_a_setpoint_converted_by_home_assistant_is_rounded_not_truncated(
    converted: float, sent: str
) -> None:
    # HA converts 21 °C to 69.8 °F before the template; truncating sent 69.
    template = jinja2.Environment().from_string(SETPOINT_COMMAND_TEMPLATE)
    assert template.render(value=converted) == sent
    for key in ("temperature_low_command_template", "temperature_high_command_template"):
        assert components(panel())["tstat-1"][key] == SETPOINT_COMMAND_TEMPLATE
