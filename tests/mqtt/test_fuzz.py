"""Fuzz: whatever arrives on a topic the bridge listens to, the MQTT layer's parsers give a
value or their typed refusal (issue 9). ``parse_command`` runs every property of every node
(settable or not, so every setter) against bytes biased towards what setters look at;
``load_json`` bounds any bytes; the topic parsers take any string."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from e27bridge.mqtt.commands import InvalidCommand, Parsed, parse_command
from e27bridge.mqtt.inbound import PayloadError, json_depth, load_json
from e27bridge.mqtt.nodes import panel_nodes
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.commands import Command
from e27bridge.panel.state import ArmMode
from fuzzing import fuzz

from .factories import snapshot

MODES = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)
NODES = panel_nodes(snapshot("home"), MODES)
TARGETS = [(n, p.id) for n, node in NODES.items() for p in node.properties] + [
    ("zone-99", "bypassed"),
    ("area-1", "nope"),
]
REASON = re.compile(r"^[a-z0-9_]+$")

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(
        [
            "123456",
            "0",
            "-1",
            "\uff11\uff12\uff13\uff14",
            "\u0663\u0664\u0665\u0666",
            "1e3",
            " 42 ",
            "true",
            "ON",
        ]
    )
)
command_json = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(
            ["arm_away", "arm_home", "arm_night", "disarm", "bypass", "unbypass", "open", "x"]
        )
        | scalars,
        "code": scalars,
        "transaction": scalars,
        "value": scalars,
    },
).map(lambda body: json.dumps(body).encode())
words = st.sampled_from(
    [b"true", b"false", b"ON", b"OFF", b"42", b"-40", b"150", b"100", b"0", b"HEAT", b"close"]
)
payloads = st.binary(max_size=64) | command_json | words | st.text(max_size=16).map(str.encode)


@fuzz(18_000)
@given(st.sampled_from(TARGETS), payloads, st.sampled_from([None, 1234, 739146]))
def test_parse_command_gives_a_command_or_a_reason(
    target: tuple[str, str], payload: bytes, bypass_code: int | None
) -> None:
    node, prop = target
    try:
        parsed = parse_command(NODES, node, prop, payload, MODES, bypass_code=bypass_code)
    except InvalidCommand as refused:
        assert REASON.match(refused.reason), refused.reason
        assert refused.reason != "internal_error"
    else:
        assert isinstance(parsed, Parsed) and isinstance(parsed.command, Command)


json_text = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
).map(lambda v: json.dumps(v).encode())
nesting = st.integers(min_value=0, max_value=200).map(lambda n: b"[" * n + b"]" * n)


@fuzz(8_000)
@given(st.binary(max_size=200) | json_text | nesting, st.integers(min_value=1, max_value=300))
def test_load_json_gives_a_value_or_a_payload_error(data: bytes, max_bytes: int) -> None:
    assert json_depth(data) >= 0
    try:
        value: Any = load_json(data, max_bytes=max_bytes)
    except PayloadError as refused:
        assert REASON.match(refused.reason), refused.reason
    else:
        assert len(data) <= max_bytes
        assert value == json.loads(data)


TOPICS = [Topics(), Topics(bridge_id="br", base="site/e27", homie_prefix="site/homie")]
topic_text = st.text(alphabet="homie/5+#$abc-1set\x00é", max_size=40) | st.sampled_from(
    [
        "homie/5/home/area-1/command/set",
        "homie/5//area-1//set",
        "site/homie/5/home/zone-1/bypassed/set",
        "e27bridge/bridge/request/",
        "e27bridge/bridge/request/a/b",
        "homeassistant/device/home/config",
        "homeassistant/alarm_control_panel/home/area-1/config",
    ]
)


@fuzz(6_000)
@given(st.sampled_from(TOPICS), topic_text)
def test_topic_parsers_take_any_string(topics: Topics, topic: str) -> None:
    parsed = topics.parse_set(topic)
    assert parsed is None or topic.endswith("/set")
    action = topics.parse_bridge_request(topic)
    assert action is None or "/" not in action
    assert topics.parse_hass_config(topic) is None or topic.endswith("/config")
    assert topics.parse_hass_component(topic) is None or topic.endswith("/config")
