"""Troubles, event log, rules, system/control/network, broadcasts and activity."""

from __future__ import annotations

import dataclasses
import random

import pytest

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.activity import ActivityGenerator
from e27bridge.simulator.config import ActivityConfig, InitialState
from e27bridge.simulator.panel import SimulatedPanel

from .test_panel_support import Harness, configure


def test_system_control_network_and_keepalive() -> None:
    h = Harness()
    assert h.raw("system", "r_u_alive", {}) == {
        "seq": 1,
        "system": {"r_u_alive": {"error_code": 0}},
    }
    version = h.ok("control", "get_version_info", {})
    assert version["sn"] == "00000001" and version["hw"] and version["SSP"]
    assert {"app", "boot", "db1", "schema", "BUILD_DATETIME"} <= set(version)
    attribs = h.ok("system", "get_attribs", {})
    assert attribs["panel_name"] == h.config.identity.name
    assert isinstance(h.ok("network", "get_rssi", {})["rssi"], int)
    assert isinstance(h.ok("system", "get_system_time", {})["gmt_seconds"], int)
    h.authenticate(9713)  # installer: get_ssid answers in form C
    reply = h.raw("network", "get_ssid", {})
    assert reply["network"] == {"get_ssid": "SimulatorWiFi", "error_code": 0}


def test_troubles_in_every_domain_with_broadcasts_and_log() -> None:
    config = configure()
    config = dataclasses.replace(config, initial=InitialState(troubles=("ac fail",)))
    h = Harness(config)
    assert h.ok("system", "get_trouble", {})["troubles"] == ["ac fail"]
    assert h.ok("system", "get_troubles", {})["troubles"] == ["ac fail"]
    h.panel.set_trouble("low battery", True, h.now)
    h.panel.set_trouble("bus:11000001", True, h.now)
    h.panel.set_trouble("control:zwave", True, h.now)
    h.panel.set_trouble("low battery", True, h.now)  # no change
    messages = h.panel.take_broadcasts()
    assert [next(k for k in m if k != "seq") for m in messages] == [
        "system",
        "bus_io_dev",
        "control",
    ]
    assert messages[0]["system"]["get_trouble"]["troubles"] == ["ac fail", "low battery"]
    assert h.ok("bus_io_dev", "get_trouble", {})["MISSING"] == ["11000001"]
    assert h.ok("control", "get_trouble", {})["modtbl"] == ["zwave"]
    h.panel.set_trouble("bus:11000001", False, h.now)
    assert "MISSING" not in h.ok("bus_io_dev", "get_trouble", {})
    texts = h.ok("log", "get_list", {"start": 0, "cnt": 10})["text"]
    assert "Trouble low battery active" in texts and "Trouble 11000001 restored" in texts
    with pytest.raises(ValueError):
        h.panel.set_trouble(" ", True, h.now)


def test_event_log_records_arm_disarm_alarm_and_bypass() -> None:
    h = Harness(configure(time_scale=1000))
    assert h.ok("log", "get_index", {}) == {"newest": 0, "max": 250, "total": 0, "error_code": 0}
    h.ok("zone", "set_status", {"zone_id": 4, "pin": 1234, "BYPASSED": True})
    h.ok("area", "set_arm_state", {"area_id": 1, "arm_state": "ARMED_AWAY", "pin": 2037})
    h.run_until_idle(1)
    h.panel.set_zone(5, "open", h.now)
    h.ok("area", "set_arm_state", {"area_id": 1, "arm_state": "DISARMED", "pin": 1234})
    index = h.ok("log", "get_index", {})
    assert index["total"] == index["newest"] == 5
    listing = h.ok("log", "get_list", {"start": 0, "cnt": 50})
    assert listing["id"] == [5, 4, 3, 2, 1]
    assert listing["text"] == [
        "Area 1 disarmed by user 1",
        "Area 1 burglary alarm zone 5",
        "Area 1 armed away",
        "Area 1 armed away by user 2",
        "Zone 4 bypassed by user 1",
    ]
    assert listing["time"] == sorted(listing["time"], reverse=True)
    assert h.ok("log", "get_list", {"start": 3, "cnt": 2})["id"] == [3, 2]
    one = h.ok("log", "get_log", {"log_id": 2})
    assert one["logdata"] == "Area 1 armed away by user 2" and one["log_count"] == 5
    assert h.code("log", "get_log", {"log_id": 99}) == E.INVALID_ID
    assert h.ok("log", "get_trouble", {})["log_full"] is False
    assert "arm_changed" in h.ok("log", "get_attribs", {})["log_flags"]


def test_log_is_circular_at_capacity() -> None:
    config = configure()
    config = dataclasses.replace(
        config, inventory=dataclasses.replace(config.inventory, log_capacity=3)
    )
    h = Harness(config)
    for state in ("trouble", "trouble_restore", "tamper", "tamper_restore"):
        h.panel.set_zone(2, state, h.now)
    assert h.ok("log", "get_index", {}) == {"newest": 4, "max": 3, "total": 3, "error_code": 0}
    assert h.ok("log", "get_trouble", {})["log_full"] is True


def test_rules_start_at_block_zero() -> None:
    h = Harness(configure("large"))  # 40 rules, 4 per block
    zero = h.ok("rule", "get_rules", {"block_id": 0})
    assert zero["block_id"] == 0 and zero["block_count"] == 10 and "data" not in zero
    one = h.ok("rule", "get_rules", {"block_id": 1})
    assert isinstance(one["data"], str) and one["data"]
    assert h.code("rule", "get_rules", {"block_id": 11}) == E.INVALID_ID


def test_broadcast_queue_is_drained_once() -> None:
    h = Harness()
    h.ok("output", "set_status", {"output_id": 1, "status": "ON"})
    assert len(h.panel.take_broadcasts()) == 1
    assert h.panel.take_broadcasts() == []


# ------------------------------------------------------------------ activity


def _activity(seed: int, **kw: object) -> list[tuple[float, int, str]]:
    config = ActivityConfig(enabled=True, **kw)  # type: ignore[arg-type]
    gen = ActivityGenerator(config, list(range(1, 17)), random.Random(seed), now=0.0)
    out: list[tuple[float, int, str]] = []
    t = 0.0
    while t < 60.0:
        t += 0.5
        out += [(c.at, c.zone_id, c.state) for c in gen.poll(t)]
    return out


def test_activity_is_deterministic_with_a_seed_and_rate_is_plausible() -> None:
    first = _activity(3, zone_change_rate=0.5, hold_min=0.5, hold_max=2.0)
    assert first == _activity(3, zone_change_rate=0.5, hold_min=0.5, hold_max=2.0)
    assert first != _activity(4, zone_change_rate=0.5, hold_min=0.5, hold_max=2.0)
    opens = [c for c in first if c[2] == "open"]
    assert 12 <= len(opens) <= 50  # ~30 expected in 60 s
    # Every opening closes again after its hold time, in order.
    for at, zone, _ in opens:
        closes = [c for c in first if c[1] == zone and c[2] == "closed" and c[0] >= at]
        assert closes and 0.5 <= closes[0][0] - at <= 2.0


def test_activity_bursts() -> None:
    changes = _activity(1, burst_size=5, burst_interval=20.0, hold_min=1.0, hold_max=1.0)
    opens = [c for c in changes if c[2] == "open"]
    assert [c[0] for c in opens] == [20.0] * 5 + [40.0] * 5 + [60.0] * 5
    assert len({c[1] for c in opens[:5]}) == 5


def test_activity_disabled_or_empty_does_nothing() -> None:
    gen = ActivityGenerator(ActivityConfig(zone_change_rate=5.0), [1, 2], random.Random(1), 0.0)
    assert gen.next_due() is None and gen.poll(100.0) == []


def test_panel_runs_activity_deterministically_and_skips_life_safety() -> None:
    def run() -> list[dict[str, object]]:
        config = configure("large", seed=11)
        config = dataclasses.replace(
            config, activity=ActivityConfig(enabled=True, zone_change_rate=2.0, hold_max=2.0)
        )
        panel = SimulatedPanel(config, now=0.0, rng=random.Random())
        out = []
        now = 0.0
        while now < 20.0:
            deadline = panel.next_deadline()
            assert deadline is not None
            now = deadline
            panel.advance(now)
            out += panel.take_broadcasts()
        return out

    first = run()
    assert first == run()  # the request rng (unseeded here) does not matter
    zones = [m["zone"]["get_status"]["zone_id"] for m in first if "zone" in m]
    assert len(zones) > 20
    config = configure("large")
    life_safety = {
        z.id
        for z in config.inventory.zones
        if z.definition in ("FIRE", "CO", "WATER", "TEMPERATURE")
    }
    undefined = {z.id for z in config.inventory.zones if z.definition == "UNDEFINED"}
    assert not set(zones) & (life_safety | undefined)
    assert not any(
        m.get("area", {}).get("get_status", {}).get("alarm_state", "NO_ALARM_ACTIVE")
        != "NO_ALARM_ACTIVE"
        for m in first
    )
