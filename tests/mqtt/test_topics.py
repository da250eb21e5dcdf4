"""Topic names and their parsing, also with prefixes of several levels (allowed by the config)."""

from __future__ import annotations

import pytest

from e27bridge.mqtt.topics import SetTopic, Topics, homie_id, is_homie_id, mac12, node_id
from e27bridge.panel.state import EntityKind

PLAIN = Topics()
NESTED = Topics(bridge_id="br", base="site/e27", homie_prefix="site/homie", discovery_prefix="x/ha")


@pytest.mark.parametrize("topics", [PLAIN, NESTED], ids=["plain", "nested"])
def test_every_built_topic_parses_back(topics: Topics) -> None:
    assert topics.parse_set(topics.set("dev", "area-1", "command")) == SetTopic(
        "dev", "area-1", "command"
    )
    assert topics.parse_bridge_request(topics.bridge_request("resync")) == "resync"
    assert topics.parse_hass_config(topics.hass_config("home")) == "home"
    component = topics.hass_component("binary_sensor", "home", "zone-3")
    assert topics.parse_hass_component(component) == ("binary_sensor", "home", "zone-3")
    assert topics.parse_hass_config(component) is None
    assert topics.parse_hass_component(topics.hass_config("home")) is None


def test_names_under_each_prefix() -> None:
    assert NESTED.state("br") == "site/homie/5/br/$state"
    assert NESTED.target("dev", "zone-2", "bypassed") == "site/homie/5/dev/zone-2/bypassed/$target"
    assert NESTED.alert("dev", "ac-fail") == "site/homie/5/dev/$alert/ac-fail"
    assert NESTED.set_filter == "site/homie/5/+/+/+/set"
    assert NESTED.bridge_state == "site/e27/bridge/state"
    assert NESTED.bridge_request_filter == "site/e27/bridge/request/+"
    assert NESTED.bridge_response("health_check") == "site/e27/bridge/response/health_check"
    assert NESTED.panel_event("home") == "site/e27/home/event"
    assert NESTED.panel_response("home") == "site/e27/home/response"
    assert NESTED.hass_config_filter == "x/ha/device/+/config"
    assert NESTED.hass_component_filter("home") == "x/ha/+/home/+/config"
    assert NESTED.hass_component("light", "home", "light-2") == "x/ha/light/home/light-2/config"


@pytest.mark.parametrize(
    "topic",
    [
        "homie/5/dev/area-1/command",  # no /set
        "homie/5/dev/area-1/command/set/more",
        "homie/4/dev/area-1/command/set",
        "other/5/dev/area-1/command/set",
        "homie/5/dev/area-1/set",
        "homiex/5/dev/area-1/command/set",
    ],
)
def test_foreign_set_topics_are_not_parsed(topic: str) -> None:
    assert PLAIN.parse_set(topic) is None


@pytest.mark.parametrize(
    ("topic", "parsed"),
    [
        ("e27bridge/bridge/request/", None),
        ("e27bridge/bridge/request/a/b", None),
        ("e27bridge/bridge/response/resync", None),
        ("e27bridgex/bridge/request/resync", None),
        ("homeassistant/device/home/config/x", None),
        ("homeassistant/sensor/home/config", None),
        ("homeassistant/device/home/x/config", None),
        ("homeassistant/sensor/home/x/config/y", None),
        ("homeassistant/sensor//x/config", None),
        ("other/sensor/home/x/config", None),
    ],
)
def test_foreign_bridge_and_discovery_topics_are_not_parsed(topic: str, parsed: None) -> None:
    assert PLAIN.parse_bridge_request(topic) is parsed
    assert PLAIN.parse_hass_config(topic) is parsed
    assert PLAIN.parse_hass_component(topic) is parsed


def test_ids() -> None:
    assert node_id(EntityKind.TSTAT, 3) == "tstat-3"
    assert homie_id("  AC Fail!! (Zone 3) ") == "ac-fail-zone-3"
    assert homie_id("--") == "unnamed"
    assert is_homie_id("ac-fail") and not is_homie_id("-ac") and not is_homie_id("Ac")
    assert mac12("00:11:22:33:44:AA") == "0011223344aa"
    with pytest.raises(ValueError, match="not a MAC"):
        mac12("00:11:22")


def test_homie4_set_topics_parse_only_when_homie4_is_published() -> None:
    both = Topics(homie_prefix="site/homie", homie_versions=(5, 4))
    assert both.set_filters == ("site/homie/5/+/+/+/set", "site/homie/+/+/+/set")
    assert both.parse_set("site/homie/home/output-1/on/set") == SetTopic(
        "home", "output-1", "on", version=4
    )
    assert both.parse_set("site/homie/5/home/output-1/on/set") == SetTopic("home", "output-1", "on")
    assert PLAIN.parse_set("homie/home/output-1/on/set") is None  # v4 not published
    only4 = Topics(homie_versions=(4,))
    assert only4.set_filters == ("homie/+/+/+/set",)
    assert only4.parse_set("homie/5/home/output-1/on/set") is None
    # without v5, the property topics (which HA discovery names) are the Homie 4 ones
    assert only4.prop("home", "zone-1", "open") == "homie/home/zone-1/open"
    assert only4.set("home", "zone-1", "bypassed") == "homie/home/zone-1/bypassed/set"
