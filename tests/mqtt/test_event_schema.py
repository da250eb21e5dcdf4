"""Every event type the bridge publishes, made by the code that makes it in the daemon and
published by the event stream, is valid against events.schema.json: one type per field,
ids are integers. The e2e rig checks the live stream of every test against it too."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from e27bridge.mqtt.events import EventStream
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.bus import EventBus
from e27bridge.panel.events import ConnectionChanged, PanelEvent
from e27bridge.panel.reducer import Reduction, apply_message
from e27bridge.panel.state import ConnectionState
from e27bridge.panel.statekeeper import StateKeeper
from e27bridge.protocol.models import LogEntry
from panel.test_reducer import fresh, message

from .recording import RecordingSink
from .schemas import event_errors

NOW = datetime(2026, 12, 1, 5, 6, 7, tzinfo=UTC)


def reduced(*messages: Any) -> list[PanelEvent]:
    reduction = Reduction(fresh())
    for each in messages:
        apply_message(reduction, each)
    return [e for e in reduction.events if isinstance(e, PanelEvent)]


def engine_events() -> list[PanelEvent | ConnectionChanged]:
    """One (or more) of every event type, each from where the daemon makes it."""
    events: list[PanelEvent | ConnectionChanged] = []
    events += reduced(
        message("area", {"area_id": 1, "arm_state": "DISARMED"}),
        message("area", {"area_id": 2, "arm_state": "DISARMED"}),
        message("area", {"area_id": 1, "arm_state": "ARMED_AWAY"}, "set_arm_state"),
        message("area", {"area_id": 1, "alarm_state": "BURGLAR", "alarm_zone": "31"}),
        message("area", {"area_id": 2, "arm_state": "ARMED_STAY"}),
        message("area", {"area_id": 2, "alarm_state": "FIRE", "alarm_zone": ""}),
        message("area", {"area_id": 1, "arm_state": "DISARMED"}),
        message("zone", {"zone_id": 2, "BYPASSED": False}),
        message("zone", {"zone_id": 2, "BYPASSED": True}),
    )
    troubles = Reduction(fresh())
    troubles.set_troubles(("ac fail",))
    events += [e for e in troubles.events if isinstance(e, PanelEvent)]
    bus = EventBus()
    keeper = StateKeeper(fresh(), bus, lambda: None)
    with bus.subscribe() as sub:
        keeper.log_entry(LogEntry(7, 1_764_565_567, "Area 1 armed away by user 3"))
        keeper.log_entry(LogEntry(8, None, "Trouble ac fail active"))
        keeper.event("internal_error", {"unit": "eventlog:home", "error": "KeyError: 'x'"})
        events += [e for e in sub.take_pending() if isinstance(e, PanelEvent)]
    for old, new, reason in (
        (ConnectionState.CONNECTING, ConnectionState.READY, None),
        (ConnectionState.READY, ConnectionState.DISCONNECTED, "connection reset"),
        (ConnectionState.DISCONNECTED, ConnectionState.LINK_REQUIRED, "link keys refused"),
    ):
        events.append(ConnectionChanged("home", old, new, reason))
    return events


async def published() -> list[dict[str, Any]]:
    sink = RecordingSink()
    stream = EventStream(Topics("e27bridge", "e27bridge", "homie", "homeassistant"), sink)
    for event in engine_events():
        await stream.handle(event)
    return [json.loads(p.payload) for p in sink.published]


async def test_every_event_type_is_valid_against_the_schema() -> None:
    events = await published()
    types = {e["type"] for e in events}
    assert types == {
        "armed",
        "disarmed",
        "alarm",
        "bypass",
        "trouble",
        "log",
        "internal_error",
        "connection",
    }
    for event in events:
        assert event_errors(event) == [], event
    alarms = [e for e in events if e["type"] == "alarm"]
    assert [(a["zone"], a["alarm_type"]) for a in alarms] == [(31, "BURGLAR"), (None, "FIRE")]
    logs = [e for e in events if e["type"] == "log"]
    assert [e.get("user") for e in logs] == [3, None]


@pytest.mark.parametrize(
    "broken",
    [
        {"type": "alarm", "area": 1, "zone": "31", "alarm_type": "BURGLAR"},  # a string id
        {"type": "bypass", "zone": 5, "bypassed": "true"},
        {"type": "armed", "area": 1, "mode": "armed_away", "code": 1234},  # an unknown key
        {"type": "log", "id": 1, "time": None},  # text missing
        {"type": "connection", "from": "ready", "to": "gone", "reason": None},
    ],
)
def test_the_schema_refuses_what_a_consumer_could_not_rely_on(broken: dict[str, Any]) -> None:
    event = {
        **broken,
        "event_type": "other",
        "panel": "home",
        "timestamp": NOW.isoformat(timespec="milliseconds"),
    }
    assert event_errors(event) != []


def test_the_documented_events_are_the_schemas() -> None:
    """docs/mqtt-results.md lists each event type with its fields, as the schema does."""
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "mqtt-results.md").read_text()
    table = doc.split("| `type` | Other fields |")[1].split("\n\n")[0]
    documented: dict[str, set[str]] = {}
    for row in table.splitlines()[2:]:
        names, fields = row.strip("|").split("|")
        outside = re.sub(r"\([^)]*\)", "", fields)  # the words in parentheses are values
        for name in re.findall(r"`(\w+)`", names):
            documented[name] = set(re.findall(r"`(\w+)`", outside))
    schema = json.loads(
        (root / "src" / "e27bridge" / "mqtt" / "schemas" / "events.schema.json").read_text()
    )
    for branch in schema["oneOf"]:
        kind = branch["properties"]["type"]
        names = kind.get("enum", [kind.get("const")])
        fields = set(branch["properties"]) - {"type"}
        for name in names:
            assert documented.get(name) == fields, (name, documented.get(name), fields)
    assert len(documented) == sum(
        len(b["properties"]["type"].get("enum", [0])) for b in schema["oneOf"]
    )
