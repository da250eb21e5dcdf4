"""Read-only panels and allow-lists on the MQTT side: which nodes take commands, and the
Home Assistant components and Homie nodes of those that do not (strict schemas)."""

from __future__ import annotations

from e27bridge.app import overrides_from_config
from e27bridge.daemon.config import PanelConfig
from e27bridge.mqtt.hass import ConfigBuilder, Origin
from e27bridge.mqtt.homie import NodeTree
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.state import ArmMode

from .factories import snapshot
from .schemas import hass_errors

ARM = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)
MAC = "00:11:22:33:44:AA"


def components(overrides: PanelOverrides) -> dict[str, dict[str, object]]:
    snap = overrides.apply(snapshot())
    config = ConfigBuilder(Topics(), "home", overrides, Origin(), ARM).build(snap)
    assert hass_errors(config) == []
    return config["components"]  # type: ignore[no-any-return]


def test_refusal_reasons() -> None:
    assert PanelOverrides().refusal("area-1") is None
    assert PanelOverrides(read_only=True).refusal("area-1") == "read_only"
    allow = PanelOverrides(commands=("area-1", "output-*"))
    assert allow.refusal("area-1") is None and allow.refusal("output-7") is None
    assert allow.refusal("area-2") == "not_allowed"
    assert allow.refusal("area-10") == "not_allowed"  # patterns match whole ids
    assert PanelOverrides(commands=()).refusal("zone-1") == "not_allowed"


def test_bridge_read_only_applies_to_every_panel() -> None:
    panel = PanelConfig.model_validate({"id": "home", "mac": MAC, "commands": ["area-1"]})
    assert overrides_from_config(panel).refusal("area-1") is None
    assert overrides_from_config(panel, read_only=True).refusal("area-1") == "read_only"


def test_read_only_components_are_valid_and_offer_no_control() -> None:
    every = components(PanelOverrides(read_only=True))
    assert not [cid for cid, c in every.items() for k in c if "command" in k]
    platforms = {c["platform"] for c in every.values()}
    assert platforms <= {"binary_sensor", "sensor", "event"}
    assert every["light-1-readonly"]["device_class"] == "light"
    assert every["lock-1-readonly"]["payload_on"] == "false"  # lock class: on = unlocked
    assert every["tstat-1-readonly"]["device_class"] == "temperature"
    assert every["barrier-1-readonly"]["platform"] == "sensor"
    writable = components(PanelOverrides())
    by_id = {c["unique_id"]: c for c in writable.values()}
    shared = by_id.keys() & {c["unique_id"] for c in every.values()}
    # a read-only component never takes a control's unique id (HA cannot change platforms)
    assert {by_id[u]["platform"] for u in shared} <= {"binary_sensor", "sensor", "event"}


def test_homie_nodes_outside_the_allow_list_have_nothing_settable() -> None:
    allow = PanelOverrides(commands=("output-*",))
    tree = NodeTree(allow.writable)
    tree.update(snapshot())
    settable = {f"{n.id}/{p.id}" for n in tree.nodes.values() for p in n.properties if p.settable}
    assert settable == {"output-1/on"}
    assert tree.nodes["area-1"].property("command") is None  # a command property goes
    assert tree.nodes["area-1"].property("state") is not None
