"""Bounded decoding of untrusted payloads and the guard around every message handler."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from e27bridge.mqtt.commands import InvalidCommand, parse_command
from e27bridge.mqtt.inbound import (
    MAX_JSON_DEPTH,
    Guard,
    PayloadError,
    json_depth,
    load_json,
)
from e27bridge.mqtt.nodes import panel_nodes
from e27bridge.panel.commands import parse_pin
from e27bridge.panel.state import ArmMode

from .factories import snapshot

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u00e9\n'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3)
    ),
    max_leaves=20,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=500)
@given(JSON, st.booleans())
def test_depth_scan_agrees_with_the_parsed_value(value: Any, ascii_only: bool) -> None:
    """Brackets, quotes and backslashes inside strings never count as nesting."""
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json_depth(data) == _depth(value)


def test_thousands_of_brackets_are_refused_before_parsing() -> None:
    for data in (b"[" * 5000, b'{"a":' * 5000, b"[" * 100_000 + b"]" * 100_000):
        with pytest.raises(PayloadError) as caught:
            load_json(data)
        assert caught.value.reason == "json_too_deep"
    nested = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert load_json(nested) is not None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"x" * 2000, "payload_too_large"),
        (b'{"a":"\xff"}', "not_utf8"),
        (b"{", "invalid_json"),
        (b"1" * 5000, "invalid_json"),  # over Python's int digit limit: a ValueError
        (b'{"action": "arm_away", "transaction": NaN}', "invalid_json"),  # not JSON
        (b"-Infinity", "invalid_json"),
    ],
)
def test_load_json_refuses_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        load_json(data, max_bytes=1024 if len(data) == 2000 else 1 << 20)
    assert caught.value.reason == reason


NODES = panel_nodes(snapshot("home"), (ArmMode.ARMED_AWAY,))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[" * 1000, "json_too_deep"),
        (
            b'{"action":"disarm","code":1,"transaction":' + b"[" * 40 + b"]" * 40 + b"}",
            "json_too_deep",
        ),
        (b"x" * 1_000_000, "payload_too_large"),
        ('{"action":"disarm","code":"\uff17\uff13\uff19"}'.encode(), "invalid_code"),
        ('{"action":"disarm","code":"\u0667\u0663\u0669"}'.encode(), "invalid_code"),
        (b'{"action":"disarm","code":[1]}', "invalid_code"),
    ],
)
def test_hostile_commands_are_invalid_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        parse_command(NODES, "area-1", "command", payload, (ArmMode.ARMED_AWAY,))
    assert caught.value.reason == reason


@pytest.mark.parametrize("code", ["\uff17\uff13\uff19\uff11", "\u0667\u0663\u0669", "\u00b9"])
def test_codes_are_ascii_digits_only(code: str) -> None:
    with pytest.raises(ValueError):
        parse_pin(code)
    assert parse_pin("739146") == 739146


async def test_guard_logs_once_counts_and_goes_on() -> None:
    guard = Guard()
    code = 739146

    async def broken() -> bool:
        raise TypeError(f"secret {code} in the message")

    async def fine() -> bool:
        return True

    with capture_logs() as logs:
        assert await guard.run("commands", "a/b/set", broken) is None
        assert await guard.run("commands", "a/b/set", fine) is True
    assert guard.failures == 1
    [entry] = logs
    assert entry["event"] == "mqtt_handler_failed"
    assert entry["handler"] == "commands" and entry["topic"] == "a/b/set"
    assert entry["error"] == "TypeError" and "broken" in entry["traceback"]
    assert "739146" not in repr(entry)
