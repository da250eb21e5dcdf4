"""Home Assistant discovery in each form (device, component, off) and the move between them:
the same entities, unique ids and templates; the other form's retained configs migrated and
cleared (issue 11 item 5)."""

from __future__ import annotations

import json
from typing import Any

from e27bridge.mqtt.hass import MIGRATE, ConfigBuilder, DiscoveryMode, HassPanel, Origin
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics

from .factories import snapshot
from .recording import RecordingSink
from .schemas import hass_component_errors, hass_errors

TOPICS = Topics()
DEVICE = "homeassistant/device/home/config"


def panel(mode: DiscoveryMode) -> tuple[HassPanel, RecordingSink]:
    sink = RecordingSink()
    builder = ConfigBuilder(TOPICS, "home", PanelOverrides(), Origin())
    return HassPanel(TOPICS, sink, "home", builder, mode), sink


def by_topic(sink: RecordingSink) -> dict[str, Any]:
    return {p.topic: p.payload for p in sink.published}


async def test_component_form_is_the_device_form_expanded_as_home_assistant_does() -> None:
    device, device_sink = panel("device")
    component, component_sink = panel("component")
    await device.sync(snapshot())
    await component.sync(snapshot())
    config = json.loads(by_topic(device_sink)[DEVICE])
    assert hass_errors(config) == []
    published = by_topic(component_sink)
    assert DEVICE not in published
    assert len(published) == len(config["components"])
    for cid, entry in config["components"].items():
        topic = f"homeassistant/{entry['platform']}/home/{cid}/config"
        flat = json.loads(published[topic])
        assert hass_component_errors(entry["platform"], flat) == [], cid
        # HA's own expansion of the device form: component keys win over shared ones.
        expected = {k: v for k, v in entry.items() if k != "platform"}
        for key in ("availability", "availability_mode"):
            expected.setdefault(key, config[key])
        expected |= {"device": config["device"], "origin": config["origin"]}
        assert flat == expected, cid
    connection = json.loads(published["homeassistant/binary_sensor/home/system-connection/config"])
    assert [a["topic"] for a in connection["availability"]] == ["homie/5/e27bridge/$state"]


async def test_off_publishes_nothing() -> None:
    off, sink = panel("off")
    await off.sync(snapshot())
    await off.republish()
    assert sink.published == []


async def test_switching_forms_migrates_live_entities_and_clears_the_old_configs() -> None:
    device, device_sink = panel("device")
    await device.sync(snapshot())
    old_device = by_topic(device_sink)[DEVICE]
    # A restart in component form finds the retained device config.
    component, sink = panel("component")
    await component.sync(snapshot())
    first = len(sink.published)
    await component.learn_retained(DEVICE, old_device.encode())
    moved = sink.sent[first:]
    assert moved[0] == (DEVICE, MIGRATE)  # HA unloads the entities, keeping their registry
    assert moved[-1] == (DEVICE, "")  # then the old config goes
    configs = [t for t, _ in moved[1:-1]]
    assert len(configs) == len(json.loads(old_device)["components"])  # all sent again
    assert all(t.startswith("homeassistant/") and t.endswith("/config") for t in configs)
    # Back to the device form: every per-component config moves back and is cleared.
    retained = {t: p for t, p in by_topic(sink).items() if p and t != DEVICE}
    back, back_sink = panel("device")
    await back.sync(snapshot())
    for topic, payload in retained.items():
        await back.learn_retained(topic, payload.encode())
    sent = back_sink.sent
    assert {t for t, p in sent if p == MIGRATE} == set(retained)
    assert {t for t, p in sent if p == ""} == set(retained)
    last_device = max(i for i, (t, _) in enumerate(sent) if t == DEVICE)
    last_migrate = max(i for i, (_, p) in enumerate(sent) if p == MIGRATE)
    assert last_migrate < last_device  # the device config follows the migration


async def test_off_clears_every_retained_config_of_either_form() -> None:
    device, device_sink = panel("device")
    await device.sync(snapshot())
    component, component_sink = panel("component")
    await component.sync(snapshot())
    off, sink = panel("off")
    retained = {**by_topic(device_sink), **by_topic(component_sink)}
    for topic, payload in retained.items():
        await off.learn_retained(topic, payload.encode())
    assert sorted(sink.sent) == sorted((t, "") for t in retained)
    assert MIGRATE not in [p for _, p in sink.sent]


async def test_a_gone_entity_is_emptied_in_component_form_and_strangers_are_left_alone() -> None:
    component, sink = panel("component")
    await component.sync(snapshot(zones=6))
    gone = "homeassistant/binary_sensor/home/zone-5/config"
    retained = by_topic(sink)
    fewer, fewer_sink = panel("component")
    await fewer.sync(snapshot(zones=4))
    await fewer.learn_retained(gone, retained[gone].encode())
    assert fewer_sink.sent[-1] == (gone, "")  # removed, not migrated
    assert MIGRATE not in [p for _, p in fewer_sink.sent]
    # Someone else's config under the same node id is not ours to remove.
    stranger = "homeassistant/sensor/home/power/config"
    before = len(fewer_sink.published)
    await fewer.learn_retained(stranger, b'{"unique_id": "meter_1", "state_topic": "x"}')
    await fewer.republish()
    assert stranger not in [t for t, _ in fewer_sink.sent[before:]]
