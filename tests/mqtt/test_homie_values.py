"""The Homie v5 device alone: a property is declared once its value is known and stays
declared; ``$target`` follows every settable retained value from the first one on; the
messages keep the v5 ordering rules (checked by the same StreamChecker as the live tree)."""

from __future__ import annotations

import dataclasses
import json

from e27bridge.mqtt.homie import HomiePanel, VersionClock
from e27bridge.mqtt.homie_rules import StreamChecker, type_errors
from e27bridge.mqtt.homie_tree import KnownValues
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.state import ConnectionState, EntityKind, PanelSnapshot, Zone

from .factories import snapshot
from .recording import RecordingSink

H = "homie/5/home"


def with_zone(snap: PanelSnapshot, **changes: object) -> PanelSnapshot:
    zone = dataclasses.replace(snap.zones[1], **changes)  # type: ignore[arg-type]
    zones: dict[int, Zone] = {**snap.zones, 1: zone}
    return snap.with_entities(EntityKind.ZONE, zones)


def description(sink: RecordingSink) -> dict:  # type: ignore[type-arg]
    payload = [p.payload for p in sink.published if p.topic == f"{H}/$description"][-1]
    return json.loads(payload)  # type: ignore[no-any-return]


def checked(sink: RecordingSink) -> list[str]:
    checker = StreamChecker()
    for p in sink.published:
        payload = p.payload.encode() if isinstance(p.payload, str) else p.payload
        checker.feed(p.topic, payload)
    return checker.errors


async def test_a_property_is_declared_once_its_value_is_known_and_stays() -> None:
    sink = RecordingSink()
    homie = HomiePanel(Topics(), sink, "home", VersionClock(), known=KnownValues(hold=0))
    base = snapshot()
    assert base.zones[1].rssi is None
    await homie.sync(base)
    first = description(sink)
    assert "rssi" not in first["nodes"]["zone-1"]["properties"]  # no value: not declared
    assert f"{H}/zone-1/rssi" not in dict(sink.sent)

    mark = len(sink.published)
    await homie.sync(with_zone(base, rssi=-61))
    sent = sink.sent[mark:]
    # a structural change: init, the new description, the value, then ready again
    assert [t for t, _ in sent] == [
        f"{H}/$state",
        f"{H}/$description",
        f"{H}/zone-1/rssi",
        f"{H}/$state",
    ]
    assert sent[0][1] == "init" and sent[-1][1] == "ready" and sent[2][1] == b"-61"
    assert description(sink)["nodes"]["zone-1"]["properties"]["rssi"]["datatype"] == "integer"
    assert description(sink)["version"] > first["version"]

    mark = len(sink.published)
    await homie.sync(with_zone(base, rssi=None))  # unknown again: still declared, value kept
    assert sink.sent[mark:] == []
    await homie.publish_all(with_zone(base, rssi=None))  # a reconnect republishes it
    assert (f"{H}/zone-1/rssi", b"-61") in sink.sent[mark:]
    assert checked(sink) == []


async def test_late_values_wait_for_one_init_cycle_together() -> None:
    """A ready device takes new properties at most once per hold (each wireless zone's
    first RSSI would otherwise be an init/ready cycle of its own)."""
    now = [0.0]
    sink = RecordingSink()
    homie = HomiePanel(
        Topics(), sink, "home", VersionClock(), known=KnownValues(60, lambda: now[0])
    )
    base = snapshot()
    await homie.sync(base)
    now[0] = 10
    mark = len(sink.published)
    late = with_zone(base, rssi=-61)
    await homie.sync(late)
    assert sink.sent[mark:] == []  # held: no init, no undeclared value
    late = late.with_entities(
        EntityKind.ZONE, {**late.zones, 2: dataclasses.replace(late.zones[2], rssi=-70)}
    )
    await homie.sync(late)
    assert sink.sent[mark:] == []
    now[0] = 61
    await homie.sync(late)
    sent = sink.sent[mark:]
    assert [p for t, p in sent if t == f"{H}/$state"] == ["init", "ready"]
    assert (f"{H}/zone-1/rssi", b"-61") in sent and (f"{H}/zone-2/rssi", b"-70") in sent
    assert checked(sink) == []


async def test_every_settable_retained_property_has_a_target_from_its_first_value() -> None:
    sink = RecordingSink()
    homie = HomiePanel(Topics(), sink, "home", VersionClock())
    await homie.sync(snapshot(connection=ConnectionState.CONNECTING))
    await homie.sync(snapshot())
    sent = dict(sink.sent)
    for topic in ("output-1/on", "light-1/level", "lock-1/locked", "zone-1/bypassed"):
        assert sent[f"{H}/{topic}/$target"] == sent[f"{H}/{topic}"], topic
    assert f"{H}/zone-1/open/$target" not in sent  # not settable
    assert f"{H}/area-1/command/$target" not in sent  # not retained
    assert checked(sink) == []

    # an accepted /set: the exact payload; a failure: back to the value; a success: the
    # target stays until the panel reports the value, which it then follows
    await homie.accepted("output-1", "on", b"true")
    await homie.settled("output-1", "on", ok=False)
    await homie.accepted("output-1", "on", b"true")
    await homie.settled("output-1", "on", ok=True)
    targets = [p for t, p in sink.sent if t == f"{H}/output-1/on/$target"]
    assert targets == [b"false", b"true", b"false", b"true"]
    on = snapshot().with_entities(
        EntityKind.OUTPUT, {1: dataclasses.replace(snapshot().outputs[1], on=True)}
    )
    mark = len(sink.published)
    await homie.sync(on)
    assert sink.sent[mark:] == [(f"{H}/output-1/on", b"true")]  # $target already says so


async def test_every_type_is_namespaced() -> None:
    sink = RecordingSink()
    await HomiePanel(Topics(), sink, "home", VersionClock()).sync(snapshot())
    desc = description(sink)
    assert desc["type"] == "e27bridge.panel"
    assert {n["type"] for n in desc["nodes"].values()} >= {"e27bridge.zone", "e27bridge.system"}
    assert type_errors(desc) == []
    assert type_errors({"type": "e27-panel", "nodes": {"a": {"type": "zone"}}}) == [
        "device type 'e27-panel' is not namespaced (namespace.name)",
        "node a type 'zone' is not namespaced (namespace.name)",
    ]
