"""Fidelity details of the pure panel: alarm memory, thermostat drift and setpoint range,
log announcements (ADR-0205..0208)."""

from __future__ import annotations

import dataclasses

import pytest

from e27bridge.protocol.errors import PanelErrorCode as E

from .test_panel_support import Harness, configure

AWAY = {"area_id": 1, "arm_state": "ARMED_AWAY", "pin": 1234}
DISARM = {"area_id": 1, "arm_state": "DISARMED", "pin": 1234}
FRONT_DOOR, SMOKE = 1, 14


def test_alarm_memory_outlives_the_alarm_until_the_next_arm() -> None:
    h = Harness(configure(time_scale=10))
    assert h.area()["alarms"] == [] and h.area()["alarm_mem"] == []
    h.panel.set_zone(SMOKE, "open", h.now)
    status = h.area()
    assert status["alarms"] == ["FIRE"] and status["alarm_mem"] == ["FIRE"]
    h.panel.set_zone(SMOKE, "closed", h.now)
    h.ok("area", "set_arm_state", DISARM)
    status = h.area()
    assert status["alarm_state"] == "NO_ALARM_ACTIVE" and status["alarms"] == []
    assert status["alarm_mem"] == ["FIRE"]  # remembered after the alarm ended
    h.ok("area", "set_arm_state", AWAY)  # the next arm clears the memory
    assert h.area()["alarm_mem"] == []


def test_a_second_disarm_acknowledges_alarm_memory_and_bool_format() -> None:
    h = Harness(configure(alarm_fields="bool"))
    h.panel.trigger_alarm(1, None, h.now)
    assert h.area()["alarms"] is True and h.area()["alarm_mem"] is True
    h.ok("area", "set_arm_state", DISARM)
    assert h.area()["alarms"] is False and h.area()["alarm_mem"] is True
    h.broadcasts()
    h.ok("area", "set_arm_state", DISARM)
    assert h.area()["alarm_mem"] is False
    assert h.broadcasts("area")[-1]["alarm_mem"] is False


def test_area_status_without_alarm_state() -> None:
    """``behaviour.send_alarm_state = false``: firmware where only ``alarms`` tells."""
    h = Harness(configure(send_alarm_state=False))
    h.panel.trigger_alarm(1, None, h.now)
    status = h.area()
    assert "alarm_state" not in status and status["alarms"] == ["BURGLARY"]
    assert all("alarm_state" not in b for b in h.broadcasts("area"))
    assert "alarm_state" in Harness(configure()).area()


def test_thermostat_temperature_drifts_to_the_heat_setpoint_and_stops() -> None:
    h = Harness(configure(time_scale=60))  # one step per panel minute = one per second
    start = h.ok("tstat", "get_status", {"tstat_id": 1})["temperature"]
    assert h.panel.next_deadline() is None  # idle thermostat: no timer at all
    h.ok("tstat", "set_status", {"tstat_id": 1, "mode": "HEAT", "heat_setpoint": start + 3})
    h.broadcasts()
    h.advance(1.0)
    (step,) = h.broadcasts("tstat")
    assert step["temperature"] == start + 1
    h.run_until_idle(10)
    assert h.ok("tstat", "get_status", {"tstat_id": 1})["temperature"] == start + 3
    assert [b["temperature"] for b in h.broadcasts("tstat")] == [start + 2, start + 3]
    assert h.panel.next_deadline() is None  # reached: drifting stops
    h.ok("tstat", "set_status", {"tstat_id": 1, "mode": "COOL", "cool_setpoint": start + 1})
    h.run_until_idle(10)
    assert h.ok("tstat", "get_status", {"tstat_id": 1})["temperature"] == start + 1


def test_thermostat_celsius_drifts_in_half_degrees() -> None:
    h = Harness(configure(time_scale=60, tstat_units="C"))
    start = h.ok("tstat", "get_status", {"tstat_id": 1})["temperature"]  # tenths
    h.ok("tstat", "set_status", {"tstat_id": 1, "mode": "HEAT", "heat_setpoint": 30})
    h.advance(1.0)
    assert h.ok("tstat", "get_status", {"tstat_id": 1})["temperature"] == start + 5


def test_drift_can_be_switched_off() -> None:
    config = configure(time_scale=60)
    config = dataclasses.replace(
        config, timings=dataclasses.replace(config.timings, tstat_drift_interval=0)
    )
    h = Harness(config)
    h.ok("tstat", "set_status", {"tstat_id": 1, "mode": "HEAT", "heat_setpoint": 90})
    assert h.panel.next_deadline() is None


@pytest.mark.parametrize(
    ("units", "low", "high", "overrides"),
    [("F", 40, 95, {}), ("C", 5, 35, {}), ("F", 50, 90, {"min": 50, "max": 90})],
)
def test_setpoint_range_is_reported_in_attribs_and_enforced(
    units: str, low: int, high: int, overrides: dict[str, int]
) -> None:
    h = Harness(
        configure(
            tstat_units=units,
            tstat_setpoint_min=overrides.get("min"),
            tstat_setpoint_max=overrides.get("max"),
        )
    )
    attribs = h.ok("tstat", "get_attribs", {"tstat_id": 1})
    assert (attribs["units"], attribs["setpoint_min"], attribs["setpoint_max"]) == (
        units,
        low,
        high,
    )
    for value, code in ((low, 0), (high, 0), (low - 1, E.INVALID_PARAM), (high + 1, 11004)):
        assert h.code("tstat", "set_status", {"tstat_id": 1, "heat_setpoint": value}) == code


def test_new_log_entries_are_silent_by_default_and_announced_on_request() -> None:
    h = Harness()
    h.ok("area", "set_arm_state", AWAY)
    assert h.broadcasts("log") == []
    h = Harness(configure(log_announce="get_index"))
    newest = h.ok("log", "get_index", {})["newest"]
    h.ok("area", "set_arm_state", AWAY)
    announced = h.broadcasts("log")
    assert announced and announced[-1]["newest"] > newest
    assert announced[-1] == {**h.ok("log", "get_index", {})}
