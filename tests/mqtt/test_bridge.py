"""The whole MQTT layer against a real mosquitto, over a fake engine on a real EventBus."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from e27bridge.app import bridge_settings
from e27bridge.daemon.config import Config
from e27bridge.mqtt.bridge import MqttBridge
from e27bridge.mqtt.connection import ConnectionSettings
from e27bridge.mqtt.homie_rules import description_errors, value_errors
from e27bridge.panel.bus import EventBus
from e27bridge.panel.commands import (
    ArmArea,
    BypassZone,
    CommandResult,
    Outcome,
    SetLight,
    SetOutput,
)
from e27bridge.panel.state import ArmMode, Capabilities, ConnectionState, EntityKind

from .capture import Listener, normalise, retained_tree
from .conftest import Broker
from .factories import MAC, snapshot
from .fakes import FakeDirectory, FakePanel
from .relay import Relay
from .schemas import hass_errors, homie_schema_errors

PANEL = "home"
H = f"homie/5/{PANEL}"
RESPONSE = f"e27bridge/{PANEL}/response"


@dataclass
class Rig:
    broker: Broker
    bridge: MqttBridge
    panel: FakePanel
    listener: Listener


def make_config(coalesce_ms: int = 0, bypass_code: str | None = None) -> Config:
    panel: dict[str, Any] = {
        "id": PANEL,
        "mac": MAC,
        "entities": {"zone-2": {"device_class": "window", "name": "Hall motion"}},
    }
    if bypass_code is not None:
        panel["bypass_code"] = bypass_code
    return Config.model_validate(
        {"bridge": {"ha_republish_delay": 0.05, "coalesce_ms": coalesce_ms}, "panels": [panel]}
    )


@contextlib.asynccontextmanager
async def rig(
    broker: Broker,
    coalesce_ms: int = 0,
    bypass_code: str | None = None,
    port: int | None = None,
    capabilities: Capabilities | None = None,
    echo_grace: float | None = None,
) -> AsyncIterator[Rig]:
    """The bridge over a fake panel; it connects to ``port`` (a relay) or to the broker."""
    bus = EventBus()
    state = snapshot(PANEL)
    if capabilities is not None:
        state = dataclasses.replace(state, capabilities=capabilities)
    panel = FakePanel(state, bus)
    settings = ConnectionSettings(
        port=port or broker.port,
        client_id="e27bridge",
        min_backoff=0.05,
        max_backoff=0.2,
        connect_timeout=2.0,
    )
    bridge = MqttBridge(
        FakeDirectory([panel], bus),
        bridge_settings(make_config(coalesce_ms, bypass_code), settings),
    )
    if echo_grace is not None:
        bridge.echo_grace = echo_grace
    async with Listener(broker.port) as listener:
        task = asyncio.create_task(bridge.run())
        await asyncio.wait_for(bridge.republished.wait(), 5)
        # Publishes are pipelined: the broker may still be delivering the republish to the
        # listener. Bridge info goes last on the same connection, so everything is in.
        await listener.wait_topic("e27bridge/bridge/info")
        await listener.wait_topic("e27bridge/bridge/state", b'{"state": "online"}')
        try:
            yield Rig(broker, bridge, panel, listener)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def send(
    port: int,
    topic: str,
    payload: str | bytes,
    retain: bool = False,
    properties: Properties | None = None,
) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as c:
        await c.publish(topic, payload, qos=1, retain=retain, properties=properties)


async def response(r: Rig, start: int) -> dict:  # type: ignore[type-arg]
    return (await r.listener.wait_topic(RESPONSE, start=start)).json()  # type: ignore[no-any-return]


def check_homie_tree(tree: dict[str, bytes]) -> None:
    for device, root in (("e27bridge", None), (PANEL, "e27bridge")):
        desc = json.loads(tree[f"homie/5/{device}/$description"])
        assert homie_schema_errors(desc) == []
        assert description_errors(desc, device, root) == []
        for node_id, node in desc["nodes"].items():
            for prop_id, prop in node["properties"].items():
                topic = f"homie/5/{device}/{node_id}/{prop_id}"
                if topic in tree and tree[topic] != b"\x00":
                    assert value_errors(prop, tree[topic]) == [], topic
        for topic in tree:
            if topic.startswith(f"homie/5/{device}/") and "$" not in topic:
                node_id, prop_id = topic.split("/")[3:5]
                assert prop_id in desc["nodes"][node_id]["properties"], topic


async def test_startup_publishes_a_valid_complete_tree(broker: Broker) -> None:
    async with rig(broker):
        tree = await retained_tree(broker.port)
        assert tree["homie/5/e27bridge/$state"] == b"ready"
        assert tree[f"{H}/$state"] == b"ready"
        assert tree["e27bridge/bridge/state"] == b'{"state": "online"}'
        check_homie_tree(tree)
        config = json.loads(tree[f"homeassistant/device/{PANEL}/config"])
        assert hass_errors(config) == []
        assert config["components"]["zone-2"]["device_class"] == "window"
        assert config["components"]["zone-2"]["name"] == "Hall motion"
        info = json.loads(tree["e27bridge/bridge/info"])
        assert info["panels"][0]["id"] == PANEL and info["panels"][0]["state"] == "ready"
        assert tree[f"{H}/zone-1/open"] == b"false"
        assert f"{H}/zone-6/open" not in tree  # placeholder zone hidden
        assert normalise(tree)  # the golden-capture helper copes with the whole tree


async def test_set_goes_to_panel_target_then_value_then_one_result(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        await send(broker.port, f"{H}/output-1/on/set", "true")
        result = await response(r, mark)
        assert result == {
            "transaction": None,
            "topic": f"{H}/output-1/on/set",
            "status": "ok",
            "error": None,
        }
        assert r.panel.submitted == [SetOutput(1, True)]
        target = await r.listener.wait_topic(f"{H}/output-1/on/$target", b"true", start=mark)
        value = await r.listener.wait_topic(f"{H}/output-1/on", b"true", start=mark)
        assert r.listener.messages.index(target) < r.listener.messages.index(value)
        # level and lights
        mark = r.listener.mark()
        await send(broker.port, f"{H}/light-1/level/set", "42")
        assert (await response(r, mark))["status"] == "ok"
        assert r.panel.submitted[-1] == SetLight(1, 42)
        await r.listener.wait_topic(f"{H}/light-1/level", b"42", start=mark)
        mark = r.listener.mark()
        await send(broker.port, f"{H}/light-1/level/set", "7")  # a later command as a marker
        assert (await response(r, mark))["status"] == "ok"
        assert len(r.listener.on(RESPONSE)) == 3  # exactly one result per command


async def test_area_command_with_code_and_mqtt5_response_topic(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = "client/replies"
        props.CorrelationData = b"corr-1"
        body = json.dumps({"action": "arm_away", "code": "1234", "transaction": "t1"})
        await send(broker.port, f"{H}/area-1/command/set", body, properties=props)
        result = await response(r, mark)
        assert result["status"] == "ok" and result["transaction"] == "t1"
        assert r.panel.submitted == [ArmArea(1, ArmMode.ARMED_AWAY, 1234)]
        reply = await r.listener.wait_topic("client/replies", start=mark)
        assert reply.json() == result
        assert reply.properties.CorrelationData == b"corr-1"
        await r.listener.wait_topic(f"{H}/area-1/arm-mode", b"armed_away", start=mark)
        # the code is never published anywhere, not even to $target
        # (as a number of its own: a millisecond clock, e.g. $description's version, may
        # hold the same digits inside a longer run)
        published = [m for m in r.listener.messages if not m.topic.endswith("/set")]
        alone = re.compile(rb"(?<![0-9])1234(?![0-9])")
        assert not [m.topic for m in published if alone.search(m.payload)]
        assert not r.listener.on(f"{H}/area-1/command/$target")


async def test_arm_modes_offered_and_accepted_are_the_panels(broker: Broker) -> None:
    async with rig(broker, capabilities=Capabilities(arm_modes=(ArmMode.ARMED_AWAY,))) as r:
        tree = await retained_tree(broker.port)
        config = json.loads(tree[f"homeassistant/device/{PANEL}/config"])
        assert config["components"]["area-1"]["supported_features"] == ["arm_away"]
        description = json.loads(tree[f"{H}/$description"])
        command = json.loads(description["nodes"]["area-1"]["properties"]["command"]["format"])
        assert command["properties"]["action"]["enum"] == ["arm_away", "disarm"]
        mark = r.listener.mark()
        await send(broker.port, f"{H}/area-1/command/set", '{"action":"arm_home","code":1234}')
        result = await response(r, mark)
        assert result["status"] == "invalid" and result["error"]["reason"] == "unknown_action"
        assert r.panel.submitted == []


async def test_wrong_code_is_rejected_with_panel_error(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        body = json.dumps({"action": "disarm", "code": 9999})
        await send(broker.port, f"{H}/area-1/command/set", body)
        result = await response(r, mark)
        assert result["status"] == "rejected"
        error = result["error"]
        assert (error["code"], error["reason"]) == (11008, "authorization required")
        assert "the user code may be wrong" in error["message"]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("area-1/command", "{not json", "invalid_json"),
        ("area-1/command", '{"action": "arm_night", "code": "1"}', "unknown_action"),
        ("area-1/command", '{"action": "arm_away"}', "code_required"),
        ("area-1/command", '{"action": "arm_away", "code": "12a"}', "invalid_code"),
        ("area-1/command", '{"action": "disarm", "code": "1", "x": 1}', "unknown_field"),
        ("light-1/level", "100", "out_of_range"),
        ("light-1/level", "fifty", "invalid_value"),
        ("output-1/on", "ON", "invalid_value"),
        ("zone-99/bypassed", "true", "unknown_entity"),
        ("zone-6/bypassed", "true", "unknown_entity"),
        ("zone-1/open", "true", "not_settable"),
        ("zone-1/nope", "true", "unknown_property"),
        ("zone-1/bypassed", "true", "code_required"),
        ("tstat-1/heat-setpoint", "200", "out_of_range"),
        ("barrier-1/command", "lift", "unknown_action"),
    ],
)
async def test_invalid_payloads_never_reach_the_panel(
    broker: Broker, topic: str, payload: str, reason: str
) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        await send(broker.port, f"{H}/{topic}/set", payload)
        result = await response(r, mark)
        assert result["status"] == "invalid"
        assert result["error"]["reason"] == reason
        assert r.panel.submitted == []


async def test_bypass_switch_uses_the_configured_code(broker: Broker) -> None:
    async with rig(broker, bypass_code="2468") as r:
        config = await r.listener.wait_topic(f"homeassistant/device/{PANEL}/config")
        components = config.json()["components"]
        assert components["zone-1-bypass"]["command_topic"] == f"{H}/zone-1/bypassed/set"
        assert "zone-3-bypass" not in components  # a smoke zone gets no bypass switch
        assert hass_errors(config.json()) == []
        mark = r.listener.mark()
        await send(broker.port, f"{H}/zone-1/bypassed/set", "true")
        assert (await response(r, mark))["status"] == "ok"
        assert r.panel.submitted == [BypassZone(1, True, 2468)]
        everything = b"".join(m.payload for m in r.listener.messages)
        assert b"2468" not in everything


async def test_commands_of_every_kind_are_routed(broker: Broker) -> None:
    async with rig(broker) as r:
        cases = [
            ("zone-1/command", '{"action":"bypass","code":"1234"}', BypassZone(1, True, 1234)),
            ("lock-1/locked", "false", None),
            ("area-1/chime", "true", None),
            ("tstat-1/mode", "COOL", None),
            ("tstat-1/cool-setpoint", "75", None),
            ("barrier-1/command", "open", None),
            ("light-1/on", "false", SetLight(1, 0)),
        ]
        for topic, payload, expected in cases:
            mark = r.listener.mark()
            await send(broker.port, f"{H}/{topic}/set", payload)
            assert (await response(r, mark))["status"] == "ok", topic
            if expected is not None:
                assert r.panel.submitted[-1] == expected
        assert len(r.panel.submitted) == len(cases)


async def test_a_retained_set_gets_one_invalid_result_and_is_never_executed(
    broker: Broker,
) -> None:
    topic = f"{H}/output-1/on/set"
    async with rig(broker) as r:
        mark = r.listener.mark()
        await send(broker.port, topic, '{"transaction":"r1"}', retain=True)
        retained = await response(r, mark)
        assert (retained["status"], retained["topic"]) == ("invalid", topic)
        assert retained["transaction"] == "r1"
        assert retained["error"]["reason"] == "retained"
        assert "empty retained message" in retained["error"]["message"]
        await send(broker.port, topic, '{"transaction":"r1"}', retain=True)  # the same again
        await send(broker.port, topic, b"", retain=True)  # clearing it: no result
        mark = r.listener.mark()
        await send(broker.port, f"{H}/light-1/level/set", "7")  # handled after the retained ones
        assert (await response(r, mark))["status"] == "ok"
        assert r.panel.submitted == [SetLight(1, 7)]
        assert len(r.listener.on(RESPONSE)) == 2  # one for the retained /set, one for the light


async def test_failed_command_resets_target(broker: Broker) -> None:
    async with rig(broker) as r:
        r.panel.next_result = CommandResult(Outcome.UNAVAILABLE, reason="panel_disconnected")
        mark = r.listener.mark()
        await send(broker.port, f"{H}/output-1/on/set", "true")
        result = await response(r, mark)
        assert result["status"] == "unavailable"
        await r.listener.wait_topic(f"{H}/output-1/on/$target", b"false", start=mark)


async def test_only_changed_properties_are_published(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        snap = r.panel.snapshot
        zones = dict(snap.zones)
        zones[3] = replace(zones[3], violated=True)
        r.panel.update(snap.with_entities(EntityKind.ZONE, zones))
        await r.listener.wait_topic(f"{H}/zone-3/open", b"true", start=mark)
        zones[4] = replace(zones[4], violated=True)  # a later change as a marker
        r.panel.update(r.panel.snapshot.with_entities(EntityKind.ZONE, zones))
        await r.listener.wait_topic(f"{H}/zone-4/open", b"true", start=mark)
        topics = {m.topic for m in r.listener.messages[mark:]}
        assert topics == {f"{H}/zone-3/open", f"{H}/zone-4/open"}


async def test_broker_restart_republishes_everything(broker: Broker) -> None:
    async with rig(broker) as r:
        before = normalise(await retained_tree(broker.port))
        r.bridge.republished.clear()
        broker.restart()
        await asyncio.wait_for(r.bridge.republished.wait(), 10)
        async with asyncio.timeout(10):
            while "e27bridge/bridge/state" not in (
                after := normalise(await retained_tree(broker.port))
            ):
                await asyncio.sleep(0.05)
        assert after == before


async def test_hass_birth_republishes_discovery(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        await send(broker.port, "homeassistant/status", "online")
        message = await r.listener.wait_topic(f"homeassistant/device/{PANEL}/config", start=mark)
        assert hass_errors(message.json()) == []


async def test_removed_zone_is_removed_everywhere(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        snap = r.panel.snapshot
        zones = {n: z for n, z in snap.zones.items() if n != 3}
        r.panel.update(snap.with_entities(EntityKind.ZONE, zones))
        message = await r.listener.wait_topic(f"homeassistant/device/{PANEL}/config", start=mark)
        config = message.json()
        assert config["components"]["zone-3"] == {"platform": "binary_sensor"}
        assert "zone-3-bypass" not in config["components"]  # no bypass_code: no switches
        assert hass_errors(config) == []
        await r.listener.wait_topic(f"{H}/$state", b"ready", start=mark)
        tree = await retained_tree(broker.port)
        assert not [t for t in tree if t.startswith(f"{H}/zone-3/")]
        assert "zone-3" not in json.loads(tree[f"{H}/$description"])["nodes"]
        states = [m.payload for m in r.listener.messages[mark:] if m.topic == f"{H}/$state"]
        assert states == [b"init", b"ready"]  # description only changed during init


async def test_retained_ghosts_from_an_earlier_run_are_removed(broker: Broker) -> None:
    old = {"components": {"zone-40": {"platform": "binary_sensor", "unique_id": "x"}}}
    await send(broker.port, f"homeassistant/device/{PANEL}/config", json.dumps(old), retain=True)
    async with rig(broker) as r:
        message = await r.listener.wait_for(
            lambda m: (
                m.topic == f"homeassistant/device/{PANEL}/config"
                and b'"zone-40":{"platform":"binary_sensor"}' in m.payload
            )
        )
        assert hass_errors(message.json()) == []


async def test_panel_down_makes_entities_unavailable_and_back(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        r.panel.set_connection(ConnectionState.DISCONNECTED)
        await r.listener.wait_topic(f"{H}/$state", b"disconnected", start=mark)
        await r.listener.wait_topic(f"{H}/$alert/panel-offline", start=mark)
        r.panel.set_connection(ConnectionState.LINK_REQUIRED)
        await r.listener.wait_topic(f"{H}/$alert/link-required", start=mark)
        info = await r.listener.wait_for(
            lambda m: m.topic == "e27bridge/bridge/info" and b'link_required":true' in m.payload,
            start=mark,
        )
        assert info.json()["panels"][0]["state"] == "link_required"
        r.panel.set_connection(ConnectionState.READY)
        await r.listener.wait_topic(f"{H}/$state", b"ready", start=mark)
        await r.listener.wait_topic(f"{H}/$alert/link-required", b"", start=mark)
        tree = await retained_tree(broker.port)
        assert not [t for t in tree if "$alert" in t]


async def test_troubles_become_alerts_and_clear(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        r.panel.update(replace(r.panel.snapshot, troubles=("AC Fail",)))
        alert = await r.listener.wait_topic(f"{H}/$alert/ac-fail", start=mark)
        assert alert.payload == b"AC Fail"
        await r.listener.wait_topic(f"{H}/system/troubles", b'["AC Fail"]', start=mark)
        r.panel.update(replace(r.panel.snapshot, troubles=()))
        await r.listener.wait_topic(f"{H}/$alert/ac-fail", b"", start=mark)


async def test_an_internal_error_is_an_alert_until_cleared(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        summary = "internal error in engine:home: TypeError: x (1x)"
        health = replace(r.panel.snapshot.health, internal_error=summary)
        r.panel.update(replace(r.panel.snapshot, health=health))
        alert = await r.listener.wait_topic(f"{H}/$alert/internal-error", start=mark)
        assert alert.payload == summary.encode()
        health = replace(r.panel.snapshot.health, internal_error=None)
        r.panel.update(replace(r.panel.snapshot, health=health))
        await r.listener.wait_topic(f"{H}/$alert/internal-error", b"", start=mark)


async def test_event_stream(broker: Broker) -> None:
    async with rig(broker) as r:
        mark = r.listener.mark()
        r.panel.event("armed", area=1, user="Alice", mode="away", code="1234")
        message = await r.listener.wait_topic(f"e27bridge/{PANEL}/event", start=mark)
        body = message.json()
        assert body["event_type"] == "armed" and body["user"] == "Alice"
        assert "code" not in body and not message.retain
        r.panel.event("weird_thing")
        other = await r.listener.wait_topic(f"e27bridge/{PANEL}/event", start=mark + 1)
        assert other.json()["event_type"] in ("armed", "other")


async def test_bridge_requests(broker: Broker) -> None:
    async with rig(broker) as r:
        base = "e27bridge/bridge"
        mark = r.listener.mark()
        await send(broker.port, f"{base}/request/health_check", '{"transaction": 7}')
        health = (await r.listener.wait_topic(f"{base}/response/health_check", start=mark)).json()
        assert health["status"] == "ok" and health["transaction"] == 7
        assert health["data"]["panels"][PANEL]["state"] == "ready"
        await send(broker.port, f"{base}/request/resync", json.dumps({"panel": PANEL}))
        resync = (await r.listener.wait_topic(f"{base}/response/resync", start=mark)).json()
        assert resync["status"] == "ok" and r.panel.refreshes == [(None, None)]
        await send(broker.port, f"{base}/request/resync", json.dumps({"panel": "nope"}))
        bad = await r.listener.wait_for(
            lambda m: (
                m.topic == f"{base}/response/resync"
                and b"error" in m.payload
                and b'"status":"invalid"' in m.payload
            ),
            start=mark,
        )
        assert bad.json()["error"]["reason"] == "unknown_panel"
        m2 = r.listener.mark()
        await send(broker.port, f"{base}/request/republish", "")
        assert (await r.listener.wait_topic(f"{base}/response/republish", start=m2)).json()[
            "status"
        ] == "ok"
        await r.listener.wait_topic(f"homeassistant/device/{PANEL}/config", start=m2)
        await send(broker.port, f"{base}/request/explode", "{}")
        assert (await r.listener.wait_topic(f"{base}/response/explode", start=m2)).json()[
            "status"
        ] == "invalid"


async def test_clean_shutdown_and_lwt(broker: Broker) -> None:
    async with Listener(broker.port) as listener:
        async with rig(broker):
            mark = listener.mark()
        await listener.wait_topic("e27bridge/bridge/state", b'{"state": "offline"}', start=mark)
        await listener.wait_topic("homie/5/e27bridge/$state", b"disconnected", start=mark)
        await listener.wait_topic(f"{H}/$state", b"disconnected", start=mark)
        # everything retained agrees: the panel was ready, the stopped bridge no longer knows
        info = json.loads((await retained_tree(broker.port))["e27bridge/bridge/info"])
        assert [p["state"] for p in info["panels"]] == ["disconnected"]
        # abrupt death: both wills fire
        async with Relay(broker.port) as relay, rig(broker, port=relay.port):
            mark = listener.mark()
            relay.cut()
            await listener.wait_topic("e27bridge/bridge/state", b'{"state": "offline"}', start=mark)
            await listener.wait_topic("homie/5/e27bridge/$state", b"lost", start=mark)


async def test_own_publishes_stop_coming_back_once_ghosts_are_judged(broker: Broker) -> None:
    """The retained Homie filters serve ghost removal only: after the check they are
    dropped, so the bridge's own value publishes no longer come back to it."""
    async with rig(broker, echo_grace=0.2) as r:
        zones = dict(r.panel.snapshot.zones)

        async def echoed(violated: bool) -> int:
            """Messages the bridge received for one zone change plus one /set after it."""
            mark, before = r.listener.mark(), r.bridge.conn.received
            zones[3] = replace(zones[3], violated=violated)
            r.panel.update(r.panel.snapshot.with_entities(EntityKind.ZONE, zones))
            await r.listener.wait_topic(
                f"{H}/zone-3/open", str(violated).lower().encode(), start=mark
            )
            # The broker took our publish before this /set, so an echo would come first.
            await send(broker.port, f"{H}/output-1/on/set", "true")
            await response(r, mark)
            return r.bridge.conn.received - before

        flips = iter([True, False] * 50)
        async with asyncio.timeout(10):
            while await echoed(next(flips)) != 1:  # only the /set: no echo any more
                await asyncio.sleep(0.1)
