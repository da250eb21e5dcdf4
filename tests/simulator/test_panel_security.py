"""Arming, exit/entry delays, alarms, readiness, bypass and chime of the pure panel."""

from __future__ import annotations

import dataclasses

import pytest

from e27bridge.protocol.errors import PanelErrorCode as E

from .test_panel_support import Harness, configure

AWAY = {"area_id": 1, "arm_state": "ARMED_AWAY", "pin": 1234}
STAY = {"area_id": 1, "arm_state": "ARMED_STAY", "pin": 1234}
DISARM = {"area_id": 1, "arm_state": "DISARMED", "pin": 1234}
FRONT_DOOR, PATIO, KITCHEN_MOTION, LIVING_MOTION, SMOKE, CO, WATER = 1, 4, 11, 12, 14, 15, 16


def scaled(**kw: object) -> Harness:
    return Harness(configure(time_scale=10, **kw))  # exit 6 s, entry 3 s


def test_arm_away_runs_exit_delay_then_arms() -> None:
    h = scaled()
    ack = h.ok("area", "set_arm_state", AWAY)
    assert ack == {"area_id": 1, "error_code": 0}
    (pending,) = h.broadcasts("area")
    assert pending["arm_state"] == "DISARMED" and pending["arm_cmd_state"] == "ARMED_AWAY"
    assert pending["ee_timer"] == 60 and pending["alarm_zone"] == ""
    h.advance(2.0)
    assert h.area()["ee_timer"] == 40  # panel seconds, counted down with time scaling
    assert h.panel.next_deadline() == pytest.approx(106.0)
    h.advance(4.0)
    (armed,) = h.broadcasts("area")
    assert armed["arm_state"] == "ARMED_AWAY" and armed["ee_timer"] == 0
    assert h.panel.next_deadline() is None


def test_exit_delay_cancel_and_zero_delay_arm_at_once() -> None:
    h = scaled()
    h.ok("area", "set_arm_state", {**STAY, "exit_delay_cancel": True})
    assert h.area()["arm_state"] == "ARMED_STAY"
    config = configure()
    no_delay = Harness(
        dataclasses.replace(config, timings=dataclasses.replace(config.timings, exit_delay=0))
    )
    no_delay.ok("area", "set_arm_state", AWAY)
    assert no_delay.area()["arm_state"] == "ARMED_AWAY"
    assert no_delay.panel.next_deadline() is None


def test_disarm_during_exit_delay_cancels() -> None:
    h = scaled()
    h.ok("area", "set_arm_state", AWAY)
    h.advance(1.0)
    h.ok("area", "set_arm_state", DISARM)
    h.run_until_idle(10)
    status = h.area()
    assert status["arm_state"] == "DISARMED" and status["arm_cmd_state"] == "DISARMED"
    assert status["ee_timer"] == 0


@pytest.mark.parametrize(
    ("pin", "code"), [(4321, E.INVALID_PARAM), ("1234", E.NOAUTH), (None, E.NOAUTH)]
)
def test_arming_pin_errors(pin: object, code: int) -> None:
    h = scaled()
    args = {k: v for k, v in AWAY.items() if k != "pin"}
    if pin is not None:
        args["pin"] = pin
    inbound = h.send("area", "set_arm_state", args)
    assert inbound.error_code == code and inbound.body["area_id"] == 1
    assert h.broadcasts() == []


def test_authenticated_session_may_arm_without_pin() -> None:
    h = scaled()
    h.authenticate()
    assert h.code("area", "set_arm_state", {"area_id": 1, "arm_state": "ARMED_AWAY"}) == 0


def test_user_limited_to_other_areas_gets_11004() -> None:
    h = Harness(configure("large", time_scale=10))
    user = next(u for u in h.config.inventory.users if u.areas == (3,))
    assert h.code("area", "set_arm_state", {**AWAY, "pin": user.pin}) == E.INVALID_PARAM
    assert h.code("area", "set_arm_state", {**AWAY, "area_id": 3, "pin": user.pin}) == 0


def test_invalid_arm_state_and_unknown_area() -> None:
    h = scaled()
    assert h.code("area", "set_arm_state", {**AWAY, "arm_state": "ARMED_NIGHT"}) == E.INVALID_PARAM
    assert h.code("area", "set_arm_state", {**AWAY, "area_id": 5}) == E.INVALID_ID


def test_readiness_follows_zones_and_blocks_arming() -> None:
    h = scaled()
    h.panel.set_zone(LIVING_MOTION, "open", h.now)
    assert h.area()["ready_status"] == "RDY_STAY"  # interior zone: stay still possible
    assert h.code("area", "set_arm_state", AWAY) == E.NOT_READY
    h.panel.set_zone(PATIO, "open", h.now)
    assert h.area()["ready_status"] == "RDY_NOT"
    assert h.code("area", "set_arm_state", STAY) == E.NOT_READY
    h.panel.set_zone(PATIO, "closed", h.now)
    h.panel.set_zone(LIVING_MOTION, "closed", h.now)
    statuses = [b["ready_status"] for b in h.broadcasts("area") if "ready_status" in b]
    assert statuses == ["RDY_STAY", "RDY_NOT", "RDY_STAY", "RDY_AWAY"]
    h.panel.set_zone(WATER, "trouble", h.now)  # life-safety troubles do not block arming
    assert h.area()["ready_status"] == "RDY_AWAY"


def test_stay_ignores_interior_zones() -> None:
    h = scaled()
    h.panel.set_zone(LIVING_MOTION, "open", h.now)
    h.ok("area", "set_arm_state", STAY)
    h.run_until_idle(10)
    assert h.area()["arm_state"] == "ARMED_STAY"
    h.panel.set_zone(KITCHEN_MOTION, "open", h.now)
    h.run_until_idle(10)
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"


def test_entry_delay_then_burglary_alarm_when_not_disarmed() -> None:
    h = scaled()
    h.ok("area", "set_arm_state", AWAY)
    h.run_until_idle(7)
    h.broadcasts()
    h.panel.set_zone(FRONT_DOOR, "open", h.now)
    entry = [b for b in h.broadcasts("area") if b.get("ee_timer")]
    assert entry[-1]["ee_timer"] == 30 and entry[-1]["alarm_zone"] == str(FRONT_DOOR)
    assert entry[-1]["arm_state"] == "ARMED_AWAY"
    h.panel.set_zone(KITCHEN_MOTION, "open", h.now)  # follower during entry delay: no alarm
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"
    h.advance(2.9)
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"
    h.advance(0.2)
    status = h.area()
    assert status["alarm_state"] == "BURGLARY" and status["alarm_zone"] == str(FRONT_DOOR)
    assert any(b.get("alarm_state") == "BURGLARY" for b in h.broadcasts("area"))
    # In alarm: arming is refused, disarming clears everything.
    assert h.code("area", "set_arm_state", STAY) == E.IN_ALARM
    h.ok("area", "set_arm_state", DISARM)
    status = h.area()
    assert status["arm_state"] == "DISARMED" and status["alarm_state"] == "NO_ALARM_ACTIVE"
    assert status["alarm_zone"] == ""


def test_disarm_within_entry_delay_prevents_alarm() -> None:
    h = scaled()
    h.ok("area", "set_arm_state", AWAY)
    h.run_until_idle(7)
    h.panel.set_zone(FRONT_DOOR, "open", h.now)
    h.advance(1.0)
    h.ok("area", "set_arm_state", DISARM)
    h.run_until_idle(10)
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"


def test_instant_zone_and_follower_alarm_at_once_when_armed_away() -> None:
    for zone in (PATIO, KITCHEN_MOTION):
        h = scaled()
        h.ok("area", "set_arm_state", AWAY)
        h.run_until_idle(7)
        h.panel.set_zone(zone, "open", h.now)
        assert h.area()["alarm_state"] == "BURGLARY", zone
        assert h.area()["alarm_zone"] == str(zone)


def test_zone_open_at_end_of_exit_delay_starts_entry_delay() -> None:
    h = scaled()
    h.ok("area", "set_arm_state", AWAY)
    h.advance(1.0)
    h.panel.set_zone(FRONT_DOOR, "open", h.now)  # leaving through the delay door
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"
    h.advance(5.0)
    status = h.area()
    assert status["arm_state"] == "ARMED_AWAY" and status["ee_timer"] == 30


@pytest.mark.parametrize(
    ("zone", "kind"), [(SMOKE, "FIRE"), (CO, "CARBON_MONOXIDE"), (WATER, "WATER")]
)
def test_life_safety_zones_alarm_even_when_disarmed(zone: int, kind: str) -> None:
    h = scaled()
    h.panel.set_zone(zone, "open", h.now)
    status = h.area()
    assert status["alarm_state"] == kind and status["alarm_zone"] == str(zone)
    h.ok("area", "set_arm_state", DISARM)
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"


def test_trigger_alarm_hook_and_set_alarm_state_reply_under_set_status() -> None:
    h = scaled()
    h.panel.trigger_alarm(1, None, h.now)
    assert h.area()["alarm_state"] == "BURGLARY" and h.area()["alarm_zone"] == ""
    h.ok("area", "set_arm_state", DISARM)
    reply = h.raw("area", "set_alarm_state", {"area_id": 1, "alarm_event": "FIRE"})
    assert reply["area"] == {"set_status": {"area_id": 1, "error_code": 0}}
    assert h.area()["alarm_state"] == "FIRE"
    with pytest.raises(ValueError, match="area 9"):
        h.panel.trigger_alarm(9, None, h.now)


def test_bypass_with_pin_updates_zone_and_area() -> None:
    h = scaled()
    h.panel.set_zone(PATIO, "open", h.now)
    h.broadcasts()
    ack = h.ok("zone", "set_status", {"zone_id": PATIO, "pin": 1234, "BYPASSED": True})
    assert ack == {"zone_id": PATIO, "error_code": 0}
    (zone,) = h.broadcasts("zone")
    assert zone["BYPASSED"] is True
    assert h.zone(PATIO)["BYPASSED"] is True
    status = h.area()
    assert status["zones_bypassed"] == 1 and status["ready_status"] == "RDY_AWAY"
    assert h.ok("zone", "get_all_zones_status", {})["status"][PATIO - 1] == "D"
    h.ok("zone", "set_status", {"zone_id": PATIO, "pin": 1234, "BYPASSED": False})
    assert h.area()["zones_bypassed"] == 0 and h.area()["ready_status"] == "RDY_NOT"


def test_bypass_broadcasts_zone_and_area() -> None:
    h = scaled()
    h.ok("zone", "set_status", {"zone_id": PATIO, "pin": 1234, "BYPASSED": True})
    domains = [next(k for k in m if k != "seq") for m in h.panel.take_broadcasts()]
    assert domains == ["zone", "area"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"zone_id": PATIO, "pin": "1234", "BYPASSED": True}, E.NOAUTH),
        ({"zone_id": PATIO, "pin": 9999, "BYPASSED": True}, E.INVALID_PARAM),
        ({"zone_id": SMOKE, "pin": 1234, "BYPASSED": True}, E.NOT_BYPASSABLE),
        ({"zone_id": PATIO, "pin": 1234}, E.INVALID_PARAM),
        ({"zone_id": 99, "pin": 1234, "BYPASSED": True}, E.INVALID_ID),
    ],
)
def test_bypass_errors(args: dict[str, object], code: int) -> None:
    h = scaled()
    assert h.code("zone", "set_status", args) == code
    assert h.broadcasts() == []


def test_bypass_refused_while_armed_and_bypassed_zone_never_alarms() -> None:
    h = scaled()
    h.ok("zone", "set_status", {"zone_id": PATIO, "pin": 1234, "BYPASSED": True})
    h.ok("area", "set_arm_state", AWAY)
    h.run_until_idle(7)
    assert h.code("zone", "set_status", {"zone_id": PATIO, "pin": 1234, "BYPASSED": False}) == (
        E.NOT_ALLOWED_WHEN_ARMED
    )
    h.panel.set_zone(PATIO, "open", h.now)
    assert h.area()["alarm_state"] == "NO_ALARM_ACTIVE"


def test_chime_set_status() -> None:
    h = scaled()
    assert h.ok("area", "set_status", {"area_id": 1, "Chime": True}) == {
        "area_id": 1,
        "error_code": 0,
    }
    (status,) = h.broadcasts("area")
    assert status["Chime"] is True and h.area()["Chime"] is True
    assert h.code("area", "set_status", {"area_id": 1, "Chime": "yes"}) == E.INVALID_PARAM


def test_zone_conditions_status_and_bulk_encoding() -> None:
    h = Harness(configure("large"))
    h.panel.set_zone(2, "open", h.now)
    h.panel.set_zone(3, "trouble", h.now)
    h.panel.set_zone(5, "tamper", h.now)
    h.panel.set_zone(6, "low_battery", h.now)
    assert h.zone(2)["secure_state"] == "VIOLATED" and h.zone(2)["contact_state"] == "OPEN"
    assert h.zone(3)["secure_state"] == "TROUBLE"
    assert h.zone(5)["secure_state"] == "TAMPER"
    assert h.zone(6)["low_batt"] is True and h.zone(6)["secure_state"] == "NORMAL"
    wireless = next(z.id for z in h.config.inventory.zones if z.wireless)
    assert isinstance(h.zone(wireless)["rssi"], int)
    status = h.ok("zone", "get_all_zones_status", True)["status"]
    assert len(status) == h.config.inventory.table_elements["zone"]
    assert status[:6] == "2962" + "6" + "2"
    undefined = [z.id for z in h.config.inventory.zones if z.definition == "UNDEFINED"]
    assert all(status[z - 1] == "0" for z in undefined)
    assert status[len(h.config.inventory.zones) :] == "0" * (len(status) - 100)
    troubles = h.ok("area", "get_troubles", {"area_id": 1})["troubles"]
    assert "zone 3 trouble" in troubles and "zone 6 low battery" in troubles
    assert h.ok("area", "get_trouble", {"area_id": 1})["troubles"] == troubles
    h.panel.set_zone(3, "normal", h.now)
    assert h.zone(3)["secure_state"] == "NORMAL"


def test_zone_changes_broadcast_zone_status_and_area_troubles() -> None:
    h = scaled()
    h.panel.set_zone(PATIO, "open", h.now)
    zones = h.broadcasts("zone")
    assert zones == [h.zone(PATIO)]
    h.panel.set_zone(PATIO, "open", h.now)  # no change, no broadcast
    assert h.broadcasts() == []
    h.panel.set_zone(PATIO, "trouble", h.now)
    messages = h.panel.take_broadcasts()
    assert any("get_troubles" in m.get("area", {}) for m in messages)


def test_set_zone_rejects_bad_input() -> None:
    h = scaled()
    with pytest.raises(ValueError, match="not configured"):
        h.panel.set_zone(300, "open", h.now)
    with pytest.raises(ValueError, match="zone state"):
        h.panel.set_zone(1, "ajar", h.now)


def test_armed_state_bits_for_other_areas_and_bypass_lists() -> None:
    h = Harness(configure("large", time_scale=10))
    area3_zone = next(z.id for z in h.config.inventory.zones if z.area_id == 3 and z.bypassable)
    h.ok("zone", "set_status", {"zone_id": area3_zone, "pin": 1234, "BYPASSED": True})
    assert h.ok("area", "get_bypassed_zones", {"area_id": 3})["zones"] == [area3_zone]
    h.panel.set_zone(2, "open", h.now)
    assert h.ok("area", "get_unsecure_zones", {"area_id": 1})["zones"] == [2]
    assert h.ok("area", "get_num_not_rdy_zones", {"area_id": 1})["num_not_ready_zones"] == 1
    assert h.area(3)["zones_bypassed"] == 1 and h.area(1)["zones_bypassed"] == 0


def test_optional_countdown_broadcasts_during_exit_delay() -> None:
    config = configure(time_scale=10)
    config = dataclasses.replace(
        config, timings=dataclasses.replace(config.timings, countdown_interval=10)
    )
    h = Harness(config)  # 60 s exit delay in 6 s, a broadcast every 10 panel seconds
    h.ok("area", "set_arm_state", AWAY)
    h.run_until_idle(7)
    timers = [b["ee_timer"] for b in h.broadcasts("area")]
    assert timers == [60, 50, 40, 30, 20, 10, 0]
    assert h.panel.next_deadline() is None
