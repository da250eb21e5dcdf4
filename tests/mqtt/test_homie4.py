"""The Homie 4 device alone (mapped from the v5 nodes) and the Homie 4 rules that check it:
every rule catches its violation."""

from __future__ import annotations

import pytest

from e27bridge.mqtt.homie4 import Homie4Panel, v4_format
from e27bridge.mqtt.homie4_rules import homie4_errors
from e27bridge.mqtt.homie_tree import KnownValues
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.state import ConnectionState

from .factories import snapshot
from .recording import RecordingSink

H4 = "homie/home"


async def published_tree() -> tuple[RecordingSink, dict[str, bytes]]:
    sink = RecordingSink()
    device = Homie4Panel(Topics(homie_versions=(4,)), sink, "home", known=KnownValues(hold=0))
    await device.sync(snapshot(connection=ConnectionState.CONNECTING))
    await device.sync(snapshot())
    tree: dict[str, bytes] = {}
    for p in sink.published:
        payload = p.payload.encode() if isinstance(p.payload, str) else p.payload
        if payload:
            tree[p.topic] = payload
        else:
            tree.pop(p.topic, None)
    return sink, tree


@pytest.mark.parametrize(
    ("datatype", "v5", "v4"),
    [
        ("integer", "40:99:1", "40:99"),
        ("integer", "0:", None),
        ("float", "0:100", "0:100"),
        ("enum", "a,b", "a,b"),
        ("boolean", "closed,open", None),
        ("string", '{"type":"object"}', None),
        ("integer", None, None),
    ],
)
def test_formats_are_what_homie4_has(datatype: str, v5: str | None, v4: str | None) -> None:
    assert v4_format(datatype, v5) == v4


async def test_the_device_is_complete_and_valid_before_ready() -> None:
    sink, tree = await published_tree()
    assert homie4_errors(tree, "homie", ["home"]) == []
    topics = [t for t, _ in sink.sent]
    # $nodes after every node's attributes, the values, and ready last
    assert topics.index(f"{H4}/$nodes") > topics.index(f"{H4}/keypad-1/area/$datatype")
    assert sink.sent[-1] == (f"{H4}/$state", "ready")
    assert tree[f"{H4}/$homie"] == b"4.0.0"
    assert tree[f"{H4}/area-1/command/$datatype"] == b"string"  # v5 json
    assert tree[f"{H4}/area-1/command/$settable"] == b"true"
    assert tree[f"{H4}/area-1/command/$retained"] == b"false"
    assert f"{H4}/zone-1/open/$settable" not in tree  # the default stays out
    assert (f"{H4}/area-1/alarm-type", b"") in sink.sent  # v5's NUL empty string
    assert f"{H4}/zone-1/rssi/$name" not in tree  # no value: not declared (ADR-0120)


def broken(tree: dict[str, bytes], changes: dict[str, bytes | None]) -> list[str]:
    changed = dict(tree)
    for suffix, value in changes.items():
        if value is None:
            changed.pop(f"{H4}/{suffix}", None)
        else:
            changed[f"{H4}/{suffix}"] = value
    return homie4_errors(changed, "homie", ["home"])


async def test_every_rule_catches_its_violation() -> None:
    _, tree = await published_tree()
    cases: list[tuple[dict[str, bytes | None], str]] = [
        ({"$homie": b"5.0"}, "not 4.x"),
        ({"$name": None}, "$name missing"),
        ({"$state": b"happy"}, "$state 'happy'"),
        ({"$nodes": b"system,Bad"}, "node id 'Bad'"),
        ({"zone-1/$type": None}, "zone-1/$type missing"),
        ({"zone-1/open/$datatype": b"number"}, "$datatype 'number'"),
        ({"area-1/state/$format": None}, "required"),
        ({"tstat-1/battery/$format": b"0:"}, "is not from:to"),
        ({"tstat-1/battery": b"900"}, "above"),
        ({"zone-1/open": b"yes"}, "boolean"),
        ({"zone-1/open": None}, "no value while the device is ready"),
        ({"area-1/command": b"{}"}, "retained value of a non-retained property"),
        ({"zone-1/open/$settable": b"maybe"}, "$settable 'maybe'"),
        ({"zone-1/ghost": b"1"}, "not a Homie 4 topic"),
    ]
    for changes, expected in cases:
        errors = broken(tree, changes)
        assert any(expected in e for e in errors), (changes, errors)
