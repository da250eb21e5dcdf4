"""Outputs, lights, locks, thermostats, barriers, keypads and users of the pure panel."""

from __future__ import annotations

import dataclasses

import pytest

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.protocol.messages import PanelRequest

from .test_panel_support import Harness, configure


def test_output_ack_carries_only_the_id_then_state_arrives_by_broadcast() -> None:
    h = Harness()
    assert h.ok("output", "get_status", {"output_id": 2}) == {
        "output_id": 2,
        "status": "OFF",
        "error_code": 0,
    }
    assert h.ok("output", "set_status", {"output_id": 2, "status": "ON"}) == {
        "output_id": 2,
        "error_code": 0,
    }
    assert h.broadcasts("output") == [{"output_id": 2, "status": "ON", "error_code": 0}]
    assert h.ok("output", "get_all_outputs_status", True)["status"].startswith("01")
    h.ok("output", "set_status", {"output_id": 2, "status": "ON"})
    assert h.broadcasts() == []  # no change, no broadcast
    assert h.code("output", "set_status", {"output_id": 2, "status": "TOGGLE"}) == E.INVALID_PARAM
    assert h.code("output", "set_status", {"output_id": 9, "status": "ON"}) == E.INVALID_ID
    assert h.code("output", "get_all_outputs_status", {"block_id": 2}) == E.INVALID_ID
    attribs = h.ok("output", "get_attribs", {"output_id": 1})
    assert attribs["name"] == "Siren" and attribs["hide"] is False


def test_output_bulk_status_covers_the_table() -> None:
    h = Harness(configure("large"))
    bulk = h.ok("output", "get_all_outputs_status", {})
    assert len(bulk["status"]) == h.config.inventory.table_elements["output"]
    assert set(bulk["status"]) == {"0"}


def test_light_levels_on_off_and_get_status_carries_only_level() -> None:
    h = Harness(configure("large"))
    dimmer = next(light.id for light in h.config.inventory.lights if light.dimmable)
    switch = next(light.id for light in h.config.inventory.lights if not light.dimmable)
    assert h.ok("light", "get_status", {"light_id": dimmer}) == {
        "light_id": dimmer,
        "level": 0,
        "error_code": 0,
    }
    assert h.ok("light", "set_status", {"light_id": dimmer, "level": 40}) == {
        "light_id": dimmer,
        "error_code": 0,
    }
    assert h.broadcasts("light") == [{"light_id": dimmer, "level": 40, "error_code": 0}]
    h.ok("light", "set_status", {"light_id": dimmer, "status": "OFF"})
    assert h.ok("light", "get_status", {"light_id": dimmer})["level"] == 0
    h.ok("light", "set_status", {"light_id": dimmer, "status": "ON"})  # back to last level
    assert h.ok("light", "get_status", {"light_id": dimmer})["level"] == 40
    h.ok("light", "set_status", {"light_id": dimmer, "level": 100})
    assert h.ok("light", "get_status", {"light_id": dimmer})["level"] == 99
    # A non-dimmable light refuses a dimming level and keeps its state; on/off still works.
    assert h.code("light", "set_status", {"light_id": switch, "level": 30}) == E.INVALID_PARAM
    assert h.code("light", "set_status", {"light_id": switch, "status": "ON", "level": 50}) == (
        E.INVALID_PARAM
    )
    assert h.ok("light", "get_status", {"light_id": switch})["level"] == 0
    h.ok("light", "set_status", {"light_id": switch, "status": "ON", "level": 99})
    assert h.ok("light", "get_status", {"light_id": switch})["level"] == 99
    h.ok("light", "set_status", {"light_id": switch, "level": 0})
    assert h.ok("light", "get_status", {"light_id": switch})["level"] == 0
    h.ok("light", "set_status", {"light_id": switch, "status": "ON"})
    assert h.ok("light", "get_status", {"light_id": switch})["level"] == 99
    attribs = h.ok("light", "get_attribs", {"light_id": switch})
    assert attribs["dimmable"] is False
    for bad in ({"level": 101}, {"level": "50"}, {"status": "DIM"}, {}):
        assert h.code("light", "set_status", {"light_id": dimmer, **bad}) == E.INVALID_PARAM


def test_lock_status_on_means_locked() -> None:
    h = Harness()
    assert h.ok("lock", "get_status", {"lock_id": 1})["status"] == "ON"
    assert h.ok("lock", "set_status", {"lock_id": 1, "status": "OFF"}) == {
        "lock_id": 1,
        "error_code": 0,
    }
    (status,) = h.broadcasts("lock")
    assert status["status"] == "OFF" and status["locked"] is False
    assert h.code("lock", "set_status", {"lock_id": 1, "status": "OPEN"}) == E.INVALID_PARAM


def test_thermostat_fahrenheit() -> None:
    h = Harness()
    status = h.ok("tstat", "get_status", {"tstat_id": 1})
    assert status["prec"] == [0, 0, 0, 0]
    assert 60 <= status["temperature"] <= 80 and isinstance(status["temperature"], int)
    assert "battery level" in status and isinstance(status["humidity"], int)
    assert status["mode"] in ("OFF", "HEAT", "COOL", "AUTO")
    ack = h.ok("tstat", "set_status", {"tstat_id": 1, "mode": "HEAT", "heat_setpoint": 70})
    assert ack == {"tstat_id": 1, "error_code": 0}
    (update,) = h.broadcasts("tstat")
    assert update["mode"] == "HEAT" and update["heat_setpoint"] == 70
    assert h.code("tstat", "set_status", {"tstat_id": 1, "mode": "DRY"}) == E.INVALID_MODE
    assert h.code("tstat", "set_status", {"tstat_id": 1, "fan_mode": "HIGH"}) == E.INVALID_MODE
    assert h.code("tstat", "set_status", {"tstat_id": 1, "cool_setpoint": 755}) == E.INVALID_PARAM
    assert h.code("tstat", "set_status", {"tstat_id": 1, "cool_setpoint": 75.5}) == E.INVALID_PARAM
    assert h.code("tstat", "set_status", {"tstat_id": 1}) == E.INVALID_PARAM


def test_thermostat_celsius_uses_tenths_with_prec_32_and_custom_vocabulary() -> None:
    h = Harness(
        configure(tstat_units="C", tstat_modes=("OFF", "HEAT", "ECO"), tstat_fan_modes=("LOW",))
    )
    status = h.ok("tstat", "get_status", {"tstat_id": 1})
    assert status["prec"] == [32, 0, 0, 0]
    assert 200 <= status["temperature"] <= 230  # raw tenths of °C
    assert status["heat_setpoint"] == 20 and status["mode"] == "OFF" and status["fan_mode"] == "LOW"
    assert h.code("tstat", "set_status", {"tstat_id": 1, "mode": "ECO"}) == 0
    assert h.code("tstat", "set_status", {"tstat_id": 1, "mode": "AUTO"}) == E.INVALID_MODE
    assert h.code("tstat", "set_status", {"tstat_id": 1, "heat_setpoint": 68}) == E.INVALID_PARAM


def test_no_thermostat_gives_11006() -> None:
    config = configure()
    config = dataclasses.replace(config, inventory=dataclasses.replace(config.inventory, tstats=()))
    h = Harness(config)
    assert h.code("tstat", "get_status", {"tstat_id": 1}) == E.INVALID_ID
    assert h.ok("tstat", "get_configured", {"block_id": 1})["tstats"] == []


def test_barrier_travel_and_at_most_once() -> None:
    h = Harness(configure(time_scale=4))  # 12 s travel -> 3 s
    assert h.ok("barrier", "get_status", {"barrier_id": 1})["status"] == "CLOSED"
    ack = h.ok("barrier", "set_status", {"barrier_id": 1, "status": "open"})
    assert ack["barrier_id"] == 1 and ack["status"] == "OPENING"
    assert [b["status"] for b in h.broadcasts("barrier")] == ["OPENING"]
    h.ok("barrier", "set_status", {"barrier_id": 1, "status": "open"})  # already opening
    assert h.broadcasts() == []
    assert h.panel.next_deadline() == pytest.approx(h.now + 3.0)
    h.advance(3.0)
    assert [b["status"] for b in h.broadcasts("barrier")] == ["OPEN"]
    h.ok("barrier", "set_status", {"barrier_id": 1, "status": "open"})  # already open: no-op
    assert h.broadcasts() == []
    h.ok("barrier", "set_status", {"barrier_id": 1, "status": "close"})
    h.advance(1.0)
    h.ok("barrier", "set_status", {"barrier_id": 1, "status": "stop"})
    assert [b["status"] for b in h.broadcasts("barrier")] == ["CLOSING", "STOPPED"]
    h.run_until_idle(10)
    assert h.ok("barrier", "get_status", {"barrier_id": 1})["status"] == "STOPPED"
    assert h.code("barrier", "set_status", {"barrier_id": 1, "status": "OPEN!"}) == E.INVALID_PARAM


def test_barrier_retransmission_with_same_seq_acts_once() -> None:
    h = Harness(configure(time_scale=4))
    request = PanelRequest(
        50, h.auth.session_id, "barrier", "set_status", {"barrier_id": 1, "status": "open"}
    )
    first = h.panel.handle(request, h.auth, h.now)
    h.advance(3.0)
    h.broadcasts()
    again = h.panel.handle(request, h.auth, h.now)
    assert again == first
    assert h.broadcasts() == []
    assert h.ok("barrier", "get_status", {"barrier_id": 1})["status"] == "OPEN"


def test_zwave_busy_rate() -> None:
    always = Harness(configure(zwave_busy_rate=1.0))
    for domain, args in [
        ("light", {"light_id": 1, "level": 10}),
        ("lock", {"lock_id": 1, "status": "OFF"}),
        ("tstat", {"tstat_id": 1, "mode": "HEAT"}),
        ("barrier", {"barrier_id": 1, "status": "open"}),
    ]:
        inbound = always.send(domain, "set_status", args)
        assert inbound.error_code == E.ZWAVE_BUSY, domain
        assert inbound.body[f"{domain}_id"] == 1
    assert always.broadcasts() == []  # busy: nothing changed
    assert always.code("output", "set_status", {"output_id": 1, "status": "ON"}) == 0  # not Z-Wave
    some = Harness(configure(zwave_busy_rate=0.3))
    codes = [
        some.code("light", "set_status", {"light_id": 1, "level": n % 90 + 1}) for n in range(60)
    ]
    assert 5 <= codes.count(E.ZWAVE_BUSY) <= 35 and codes.count(0) > 20


def test_zwave_report_delay_holds_the_broadcast() -> None:
    config = configure()
    config = dataclasses.replace(
        config, timings=dataclasses.replace(config.timings, zwave_report_delay=2.0)
    )
    h = Harness(config)
    h.ok("light", "set_status", {"light_id": 1, "level": 50})
    assert h.broadcasts() == []
    assert h.panel.next_deadline() == pytest.approx(h.now + 2.0)
    h.advance(2.0)
    assert h.broadcasts("light") == [{"light_id": 1, "level": 50, "error_code": 0}]


def test_keypad_and_user_attribs() -> None:
    h = Harness(configure("large"))
    keypad = h.ok("keypad", "get_attribs", {"keypad_id": 2})
    assert keypad["name"] == h.config.inventory.keypads[1].name
    assert isinstance(keypad["device_id"], str) and isinstance(keypad["area"], int)
    assert isinstance(keypad["flags"], list)
    users = h.ok("user", "get_configured", {"block_id": 1})["users"]
    assert users[:3] == [1, 2, 3]
    h.authenticate()
    user = h.ok("user", "get_attribs", {"user_id": 2})
    assert set(user) >= {"user_id", "name", "pin", "group_id", "flags", "enabled"}
    assert "pin" not in repr(h.config.inventory.users[1])
    assert str(user["pin"]) not in repr(h.config)
