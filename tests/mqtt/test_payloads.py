"""Pure builders: every discovery payload and Homie description is valid and strict."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

from e27bridge.mqtt.hass import ConfigBuilder, Origin, entity_name, zone_device_class
from e27bridge.mqtt.homie import panel_description, root_description
from e27bridge.mqtt.homie_rules import description_errors, format_errors, value_errors
from e27bridge.mqtt.nodes import format_value, panel_nodes
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics, homie_id, mac12
from e27bridge.panel.state import ArmMode, Capabilities, EntityKind, PanelSnapshot

from .factories import snapshot
from .schemas import hass_errors, homie_schema_errors

TOPICS = Topics()
ARM = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)


def build(overrides: PanelOverrides | None = None, **kw: object) -> dict:  # type: ignore[type-arg]
    snap = (overrides or PanelOverrides()).apply(snapshot(**kw))  # type: ignore[arg-type]
    return ConfigBuilder(TOPICS, "home", overrides or PanelOverrides(), Origin(), ARM).build(snap)


def test_discovery_payload_is_valid_for_every_component_kind() -> None:
    config = build()
    assert hass_errors(config) == []
    platforms = {c["platform"] for c in config["components"].values()}
    assert platforms == {
        "alarm_control_panel",
        "binary_sensor",
        "switch",
        "light",
        "lock",
        "climate",
        "cover",
        "sensor",
        "event",
    }


def test_strict_schema_rejects_typos_and_missing_keys() -> None:
    config = build()
    bad = copy.deepcopy(config)
    bad["components"]["zone-1"]["devcie_class"] = "door"
    assert hass_errors(bad)
    bad = copy.deepcopy(config)
    del bad["origin"]
    assert hass_errors(bad)
    bad = copy.deepcopy(config)
    bad["components"]["area-1"]["object_id"] = "x"  # deprecated: never emitted
    assert hass_errors(bad)
    bad = copy.deepcopy(config)
    del bad["components"]["area-1"]["unique_id"]
    assert hass_errors(bad)


def test_alarm_panel_uses_remote_code_and_only_panel_arm_modes() -> None:
    area = build()["components"]["area-1"]
    assert area["code"] == "REMOTE_CODE"
    assert area["supported_features"] == ["arm_away", "arm_home"]
    assert json.loads(
        area["command_template"].replace("{{ action }}", "arm_away").replace("{{ code }}", "1234")
    ) == {"action": "arm_away", "code": "1234"}
    only_away = ConfigBuilder(TOPICS, "home", PanelOverrides(), Origin(), (ArmMode.ARMED_AWAY,))
    assert only_away.build(snapshot())["components"]["area-1"]["supported_features"] == ["arm_away"]


def test_unique_ids_are_stable_and_unique() -> None:
    components = build()["components"]
    ids = [c["unique_id"] for c in components.values()]
    assert len(ids) == len(set(ids))
    assert components["zone-1"]["unique_id"] == "e27_0011223344aa_zone_1"
    with_code = build(PanelOverrides(bypass_code=2468))["components"]
    assert with_code["zone-1-bypass"]["unique_id"] == "e27_0011223344aa_zone_1_bypass"
    renamed = build(PanelOverrides(names={(EntityKind.ZONE, 1): "Back door"}))["components"]
    assert renamed["zone-1"]["unique_id"] == components["zone-1"]["unique_id"]
    assert renamed["zone-1"]["name"] == "Back door"


def test_bypass_switches_only_with_a_code_and_never_for_life_safety_zones() -> None:
    assert not [c for c in build()["components"] if c.endswith("-bypass")]
    components = build(PanelOverrides(bypass_code=2468))["components"]
    assert "zone-1-bypass" in components and "zone-2-bypass" in components
    assert "zone-3-bypass" not in components  # smoke
    assert "zone-4-bypass" not in components  # carbon monoxide
    assert "2468" not in json.dumps(components)


def test_availability_covers_bridge_and_panel() -> None:
    config = build()
    assert config["availability_mode"] == "all"
    topics = [a["topic"] for a in config["availability"]]
    assert topics == ["homie/5/e27bridge/$state", "homie/5/home/$state"]
    assert all(a["payload_available"] == "ready" for a in config["availability"])


def test_zone_device_classes_overrides_and_placeholders() -> None:
    components = build()["components"]
    assert components["zone-1"]["device_class"] == "door"
    assert components["zone-2"]["device_class"] == "motion"
    assert components["zone-3"]["device_class"] == "smoke"
    assert components["zone-4"]["device_class"] == "carbon_monoxide"
    assert components["zone-5"]["device_class"] == "moisture"
    assert "zone-6" not in components  # UNDEFINED placeholder hidden
    over = build(PanelOverrides(device_classes={(EntityKind.ZONE, 1): "window"}))
    assert over["components"]["zone-1"]["device_class"] == "window"
    excluded = build(PanelOverrides(excluded=frozenset({(EntityKind.ZONE, 2)})))
    assert "zone-2" not in excluded["components"]
    assert "zone-2-bypass" not in excluded["components"]
    assert zone_device_class("TEMPERATURE") == "cold"
    assert zone_device_class("PANIC") == "safety"
    assert zone_device_class(None) is None


def test_removed_components_become_platform_stubs() -> None:
    builder = ConfigBuilder(TOPICS, "home", PanelOverrides(), Origin(), ARM)
    config = builder.build(snapshot(zones=2), removed={"zone-9": "binary_sensor"})
    assert config["components"]["zone-9"] == {"platform": "binary_sensor"}
    assert hass_errors(config) == []


def test_names_never_repeat_the_device_name_and_no_secrets() -> None:
    assert entity_name("Home Garage", "Home") == "Garage"
    assert entity_name("Homestead", "Home") == "Homestead"
    text = json.dumps(build())
    assert "1234" not in text and "password" not in text


def test_homie_descriptions_are_valid() -> None:
    desc = panel_description(snapshot(), "e27bridge", 1, ARM)
    assert homie_schema_errors(desc) == []
    assert description_errors(desc, "home", "e27bridge") == []
    root = root_description("e27bridge", ["home"], 1)
    assert homie_schema_errors(root) == []
    assert description_errors(root, "e27bridge") == []
    assert set(desc["nodes"]) >= {"system", "area-1", "zone-1", "tstat-1", "barrier-1", "keypad-1"}
    assert "zone-6" not in PanelOverrides().apply(snapshot()).zones


def test_homie_schema_rejects_bad_documents() -> None:
    desc = panel_description(snapshot(), "e27bridge", 1, ARM)
    bad = copy.deepcopy(desc)
    bad["nodes"]["Zone_1"] = bad["nodes"].pop("zone-1")
    assert homie_schema_errors(bad)
    bad = copy.deepcopy(desc)
    del bad["nodes"]["area-1"]["properties"]["state"]["format"]
    assert homie_schema_errors(bad)
    bad = copy.deepcopy(desc)
    bad["nodes"]["area-1"]["properties"]["state"]["settable "] = True
    assert homie_schema_errors(bad)


def test_format_rules() -> None:
    assert format_errors("integer", "0:99") == []
    assert format_errors("integer", "99:0") != []
    assert format_errors("enum", "a,b,a") != []
    assert format_errors("enum", None) != []
    assert format_errors("json", "{not json") != []
    assert format_errors("float", "0:") == []


def test_every_value_matches_its_property() -> None:
    snap = snapshot()
    for node in panel_nodes(snap, ARM).values():
        for spec in node.properties:
            payload = format_value(spec, spec.value(node.source))
            if payload is None or payload == b"\x00":
                continue
            assert value_errors(spec.describe(), payload) == [], (node.id, spec.id, payload)


def test_ids() -> None:
    assert homie_id("AC Power Fail!") == "ac-power-fail"
    assert mac12("00:11:22:33:44:AA") == "0011223344aa"


def test_arm_modes_and_setpoint_limits_are_the_panels_capabilities() -> None:
    panel = replace(
        snapshot(),
        capabilities=Capabilities(arm_modes=(ArmMode.ARMED_STAY,), setpoint_range=(45, 90)),
    )
    components = ConfigBuilder(TOPICS, "home", PanelOverrides(), Origin()).build(panel)[
        "components"
    ]
    assert components["area-1"]["supported_features"] == ["arm_home"]
    nodes = panel_nodes(panel)
    area_command = json.loads(nodes["area-1"].properties[-1].format or "")
    assert area_command["properties"]["action"]["enum"] == ["arm_home", "disarm"]
    heat = nodes["tstat-1"].property("heat-setpoint")
    assert heat is not None and heat.format == "45:90:1"


def test_alarm_arming_and_troubles_skip_coalescing_and_nothing_else_does() -> None:
    nodes = panel_nodes(snapshot())
    urgent = sorted(
        f"{node.id}/{prop.id}"
        for node in nodes.values()
        for prop in node.properties
        if prop.retained and (node.urgent or prop.urgent)
    )
    area = [f"area-1/{p.id}" for p in nodes["area-1"].properties if p.retained]
    zones = [f"zone-{n}/alarm" for n in range(1, 7)]
    assert urgent == sorted([*area, *zones, "system/troubles"])


def area_values(snap: PanelSnapshot) -> dict[str, bytes | None]:
    area = panel_nodes(snap)["area-1"]
    return {p.id: format_value(p, p.value(area.source)) for p in area.properties}


def test_alarm_memory_is_published_as_the_panel_reports_it() -> None:
    """ADR-0016: properties and an HA binary sensor once the panel reports ``alarm_mem``
    (a property without a value is not declared, ADR-0120); the kinds (a JSON list and
    an attribute) only when the panel names them."""
    listed = snapshot()  # area 1 remembers a fire alarm, by name
    desc = panel_description(listed, "e27bridge", 1, ARM)["nodes"]["area-1"]["properties"]
    assert desc["alarm-memory"] == {"name": "Alarm memory", "datatype": "boolean"}
    assert desc["alarm-memory-types"]["datatype"] == "json"
    values = area_values(listed)
    assert values["alarm-memory"] == b"true" and values["alarm-memory-types"] == b'["FIRE"]'
    sensor = build()["components"]["area-1-alarm-memory"]
    assert sensor["platform"] == "binary_sensor"
    assert sensor["unique_id"] == "e27_0011223344aa_area_1_alarm_memory"
    assert sensor["state_topic"] == "homie/5/home/area-1/alarm-memory"
    assert sensor["json_attributes_topic"] == "homie/5/home/area-1/alarm-memory-types"

    def with_area(**changes: object) -> PanelSnapshot:
        snap = snapshot()
        return snap.with_entities(EntityKind.AREA, {1: replace(snap.areas[1], **changes)})

    builder = ConfigBuilder(TOPICS, "home", PanelOverrides(), Origin(), ARM)
    yes_no = with_area(alarm_memory_kinds=None)
    sensor = builder.build(yes_no)["components"]["area-1-alarm-memory"]
    assert "json_attributes_topic" not in sensor and hass_errors(builder.build(yes_no)) == []
    values = area_values(yes_no)
    assert values["alarm-memory"] == b"true" and values["alarm-memory-types"] is None
    unknown = with_area(alarm_memory=None, alarm_memory_kinds=None)
    assert "area-1-alarm-memory" not in builder.build(unknown)["components"]
    assert area_values(unknown)["alarm-memory"] is None
