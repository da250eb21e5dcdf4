"""Profiles, scenario loading and validation of the simulator configuration."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from e27bridge.simulator.config import (
    Behaviour,
    Identity,
    ScenarioError,
    SimulatorConfig,
    profile_config,
)
from e27bridge.simulator.scenario import config_from_mapping, load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "simulator-example.toml"

# ecosystem §7.1: areas, zones (configured, excl. UNDEFINED), undefined, outputs, keypads,
# users, tstats, lights, locks, barriers
EXPECTED = {
    "small": (1, 16, 0, 2, 1, 4, 1, 2, 1, 1),
    "large": (3, 96, 4, 16, 5, 20, 4, 40, 6, 3),
    "max": (8, 208, 16, 208, 16, 203, 16, 256, 32, 8),
}


@pytest.mark.parametrize("name", ["small", "large", "max"])
def test_profile_counts_match_the_ecosystem_table(name: str) -> None:
    inv = profile_config(name).inventory
    undefined = sum(1 for z in inv.zones if z.definition == "UNDEFINED")
    counts = (
        len(inv.areas),
        len(inv.zones) - undefined,
        undefined,
        len(inv.outputs),
        len(inv.keypads),
        len(inv.users),
        len(inv.tstats),
        len(inv.lights),
        len(inv.locks),
        len(inv.barriers),
    )
    assert counts == EXPECTED[name]


def test_profile_zone_mix_and_realistic_unique_names() -> None:
    inv = profile_config("large").inventory
    kinds = Counter(z.definition for z in inv.zones)
    motion = kinds["BURG_INTERIOR_FOLLOWER"] + kinds["BURG_INTERIOR"]
    assert motion == 18
    assert kinds["FIRE"] + kinds["CO"] == 8
    assert kinds["WATER"] + kinds["TEMPERATURE"] == 10
    names = [z.name for z in inv.zones]
    assert len(set(names)) == len(names)
    assert {"Front Door", "Kitchen Motion", "Back Door"} <= set(names)
    assert any("Smoke" in n for n in names) and any("Water" in n for n in names)
    for group in (inv.outputs, inv.lights, inv.locks, inv.tstats, inv.barriers, inv.keypads):
        group_names = [item.name for item in group]
        assert len(set(group_names)) == len(group_names)
    pins = [u.pin for u in profile_config("max").inventory.users]
    assert len(set(pins)) == len(pins)
    assert all(1 <= p <= 999999 for p in pins)


def test_fire_and_undefined_zones_are_not_bypassable() -> None:
    for zone in profile_config("max").inventory.zones:
        if zone.definition in ("FIRE", "CO", "UNDEFINED"):
            assert not zone.bypassable


def test_unknown_profile() -> None:
    with pytest.raises(ScenarioError, match="unknown profile 'huge'"):
        profile_config("huge")


def test_with_user_pin_and_secrets_stay_out_of_repr() -> None:
    config = profile_config("small").with_user_pin(86420)
    assert config.user1_pin() == 86420
    text = repr(config)
    assert "86420" not in text and "12345678" not in text and "simulator'" not in text
    with pytest.raises(ScenarioError, match="PIN"):
        config.with_user_pin(0)
    with pytest.raises(ScenarioError, match="already used"):
        config.with_user_pin(9713)  # the installer's code


def test_mac_is_normalised_and_validated() -> None:
    assert Identity(mac="aa:bb:cc:dd:ee:0f").mac == "AABBCCDDEE0F"
    with pytest.raises(ScenarioError, match=r"identity\.mac"):
        Identity(mac="nonsense")


def test_example_scenario_loads() -> None:
    config = load_scenario(EXAMPLE)
    assert config.identity.name == "Lake House" and config.identity.mac == "0050C2E27042"
    assert config.seed == 42 and config.behaviour.tstat_units == "C"
    assert config.credentials.access_code == "48151623"
    assert [z.id for z in config.inventory.zones] == [1, 2, 3, 4, 5, 6, 9, 12]
    assert config.inventory.zones[1].area_id == 1  # default
    assert config.inventory.users[1].areas == (1,)
    assert config.timings.exit_delay == 45.0 and config.activity.enabled
    assert config.initial.open_zones == (9,)
    assert config.inventory.rules == 6
    assert config.behaviour.numeric_string_commands[1] == "zone.get_configured"
    assert config.behaviour.setpoint_range() == (10, 30)
    assert config.behaviour.log_announce == "get_index"
    assert config.timings.tstat_drift_interval == 60.0


def test_scenario_overrides_only_what_it_names() -> None:
    config = config_from_mapping({"profile": "large", "timings": {"time_scale": 20}})
    assert config.timings.time_scale == 20.0 and config.timings.exit_delay == 60.0
    assert len(config.inventory.areas) == 3
    sized = config_from_mapping({"inventory": {"table_elements": {"zone": 32}}})
    assert sized.inventory.table_size("zone") == 32 and sized.inventory.table_size("area") == 8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timings": {"exit": 3}}, r"timings\.exit: unknown key"),
        ({"colour": "red"}, r"unknown key\(s\) colour"),
        ({"timings": {"exit_delay": "soon"}}, "timings.exit_delay: expected a number"),
        ({"timings": {"time_scale": 0}}, "time_scale must be > 0"),
        (
            {"behaviour": {"session_policy": "evict"}},
            "behaviour.session_policy: 'evict' is not one of 'refuse' or 'replace'",
        ),
        ({"behaviour": {"block_size": 0}}, "block_size must be 1..256"),
        ({"behaviour": {"zwave_busy_rate": 2}}, "probability"),
        ({"faults": {"hello_refusal": "maybe"}}, "hello_refusal"),
        ({"network": {"port": 70000}}, "network.port"),
        ({"identity": {"mac": "00:00:00:00:00:00"}}, "identity.mac"),
        ({"inventory": {"zones": [{"id": 1}]}}, r"inventory\.zones\[0\]\.name: missing"),
        (
            {"inventory": {"zones": [{"id": 1, "name": "X", "area_id": "2"}]}},
            r"inventory\.zones\[0\]\.area_id: expected an integer, got '2'",
        ),
        ({"activity": {"enabled": "yes"}}, r"activity\.enabled: expected true or false"),
        ({"identity": {"name": 5}}, r"identity\.name: expected a string"),
        (
            {"inventory": {"zones": [{"id": 1, "name": "X", "definition": "LAVA"}]}},
            "definition 'LAVA' is not one of",
        ),
        ({"inventory": {"zones": [{"id": 1, "name": "X", "area_id": 7}]}}, "area 7 is not"),
        (
            {"inventory": {"zones": [{"id": 1, "name": "A"}, {"id": 1, "name": "B"}]}},
            "zone 1: duplicate id",
        ),
        ({"inventory": {"zones": [{"id": 300, "name": "A"}]}}, r"within 1\.\.256"),
        ({"inventory": {"users": [{"id": 1, "name": "A", "pin": "1234"}]}}, "expected an integer"),
        ({"inventory": {"users": [{"id": 1, "name": "A", "pin": 0}]}}, "PIN must be"),
        (
            {
                "inventory": {
                    "users": [{"id": 1, "name": "A", "pin": 5}, {"id": 2, "name": "B", "pin": 5}]
                }
            },
            "PIN already used",
        ),
        ({"inventory": {"areas": []}}, "at least one area"),
        ({"inventory": {"lights": {"id": 1}}}, "expected an array of tables"),
        ({"inventory": {"table_elements": {"toaster": 3}}}, "unknown domain 'toaster'"),
        ({"initial": {"open_zones": [99]}}, "zone 99 is not configured"),
        ({"activity": {"burst_size": 3}}, "burst_interval must be > 0"),
        ({"seed": "abc"}, "seed: expected an integer"),
    ],
)
def test_invalid_scenarios_have_clear_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        config_from_mapping(data, "test.toml")


def test_scenario_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[timings\nexit_delay = 3\n")
    with pytest.raises(ScenarioError, match=r"bad.toml: not valid TOML"):
        load_scenario(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[behaviour]\nblock_size = -1\n")
    with pytest.raises(ScenarioError, match=r"wrong.toml: behaviour.block_size"):
        load_scenario(wrong)
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.toml")


def test_dataclasses_replace_revalidates() -> None:
    with pytest.raises(ScenarioError):
        dataclasses.replace(Behaviour(), max_sessions=0)
    config = SimulatorConfig()  # the bare default is a valid one-area panel
    assert len(config.inventory.areas) == 1 and config.inventory.zones == ()
