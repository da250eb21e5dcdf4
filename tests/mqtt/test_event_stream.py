"""Panel events -> ``<base>/<panel>/event`` payloads, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from e27bridge.mqtt.events import EventStream, event_payload, event_type
from e27bridge.mqtt.hass import EVENT_TYPES
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.events import ConnectionChanged, PanelEvent
from e27bridge.panel.state import ConnectionState

from .recording import RecordingSink

NOW = datetime(2026, 12, 1, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.mark.parametrize("name", EVENT_TYPES)
def test_home_assistant_types_map_to_themselves(name: str) -> None:
    assert event_type(name) == name


@pytest.mark.parametrize(
    ("raw", "mapped"),
    [
        ("arm", "armed"),
        ("disarm", "disarmed"),
        ("alarm_clear", "alarm_cleared"),
        ("alarm_restored", "alarm_cleared"),
        ("bypassed", "bypass"),
        ("unbypass", "bypass"),
        ("log_entry", "log"),
        ("connection", "other"),
        ("internal_error", "other"),
        ("", "other"),
    ],
)
def test_engine_types_map_onto_what_home_assistant_accepts(raw: str, mapped: str) -> None:
    assert event_type(raw) == mapped


def test_payload_keeps_data_and_adds_type_panel_and_time() -> None:
    data = {"area": 1, "mode": "armed_away"}
    assert event_payload("home", "armed", data, NOW) == {
        "area": 1,
        "mode": "armed_away",
        "event_type": "armed",
        "type": "armed",
        "panel": "home",
        "timestamp": "2026-12-01T05:06:07.890+00:00",
    }


def test_data_never_overwrites_the_events_own_keys() -> None:
    data = {"area": 1, "zone": "17", "type": "BURGLAR", "panel": "x", "timestamp": 0}
    payload = event_payload("home", "alarm", data, NOW)
    assert (payload["type"], payload["panel"], payload["event_type"]) == ("alarm", "home", "alarm")
    assert (payload["alarm_type"], payload["alarm_panel"], payload["alarm_timestamp"]) == (
        "BURGLAR",
        "x",
        0,
    )


def test_codes_never_reach_the_payload() -> None:
    data = {"zone": 4, "code": 1234, "PIN": "9999", "Passphrase": "x", "password": "y", "n": 1}
    payload = event_payload("home", "bypass", data, NOW)
    assert {k for k in payload if k not in ("event_type", "type", "panel", "timestamp")} == {
        "zone",
        "n",
    }


async def test_panel_and_connection_events_are_published_not_retained() -> None:
    sink = RecordingSink()
    stream = EventStream(Topics(base="e27"), sink, now=lambda: NOW)
    await stream.handle(PanelEvent("home", "log", {"id": 5, "time": None, "text": "Area 1 armed"}))
    await stream.handle(
        ConnectionChanged("home", ConnectionState.CONNECTING, ConnectionState.READY, "linked")
    )
    assert [(p.topic, p.retain) for p in sink.published] == [("e27/home/event", False)] * 2
    log_event, connection = (p.json() for p in sink.published)
    assert (log_event["event_type"], log_event["text"], log_event["time"]) == (
        "log",
        "Area 1 armed",
        None,
    )
    assert connection == {
        "from": "connecting",
        "to": "ready",
        "reason": "linked",
        "event_type": "other",
        "type": "connection",
        "panel": "home",
        "timestamp": "2026-12-01T05:06:07.890+00:00",
    }
    assert " " not in str(sink.published[0].payload).replace("Area 1 armed", "")  # compact


async def test_values_json_cannot_encode_are_published_as_text() -> None:
    sink = RecordingSink()
    stream = EventStream(Topics(), sink, now=lambda: NOW)
    await stream.handle(PanelEvent("home", "other", {"when": NOW}))
    assert json.loads(sink.published[0].payload)["when"] == str(NOW)
