"""The reducer on its own: partial updates, events, and folding a history of statuses."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from e27bridge.panel.events import EntityChanged, PanelEvent
from e27bridge.panel.kinds import KINDS
from e27bridge.panel.kinds.base import Found
from e27bridge.panel.reducer import Reduction, apply_message
from e27bridge.panel.state import ArmMode, EntityKind, PanelInfo, PanelSnapshot
from e27bridge.protocol import models
from e27bridge.protocol.messages import route_message

IDS = (1, 2, 3)


def fresh() -> PanelSnapshot:
    """Every kind with entities 1..3 as bootstrap builds them, before any status."""
    snapshot = PanelSnapshot("home", PanelInfo("00:11:22:33:44:AA"))
    for kind in KINDS:
        spec = KINDS[kind]
        built = {
            i: spec.build(models.Attribs(i, f"{kind.value} {i}", 1, "BURG_PERIM"), Found())
            for i in IDS
        }
        snapshot = snapshot.with_entities(kind, built)
    return snapshot


def message(domain: str, body: dict[str, Any], command: str = "get_status") -> Any:
    return route_message({"seq": 0, domain: {command: {**body, "error_code": 0}}})


def entities(snapshot: PanelSnapshot) -> dict[EntityKind, dict[int, Any]]:
    return {kind: dict(snapshot.entities(kind)) for kind in KINDS}


# Status fields each kind's reader understands, each independent of the others.
FLAG = st.booleans()
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "area": {
        "arm_state": st.sampled_from(["DISARMED", "ARMED_AWAY", "ARMED_STAY"]),
        "arm_cmd_state": st.sampled_from(["DISARMED", "ARMED_AWAY", "ARMED_STAY"]),
        "ready_status": st.sampled_from(["RDY_NOT", "RDY_TO_ARM", "RDY_FORCE_ARM"]),
        "ee_timer": st.integers(0, 60),
        "alarm_zone": st.sampled_from(["", "3", "17"]),
        "alarm_state": st.sampled_from(["NO_ALARM_ACTIVE", "BURGLAR", "FIRE"]),
        "alarm_mem": st.one_of(st.booleans(), st.lists(st.sampled_from(["FIRE", "BURGLAR"]))),
        "Chime": FLAG,
        "zones_bypassed": st.integers(0, 5),
        "troubles": st.lists(st.sampled_from(["AC", "BATTERY"]), max_size=2),
    },
    "zone": {
        "violated": FLAG,
        "trouble": FLAG,
        "tamper": FLAG,
        "alarm": FLAG,
        "BYPASSED": FLAG,
        "low_batt": FLAG,
        "rssi": st.integers(-120, 0),
    },
    "output": {"status": st.sampled_from(["ON", "OFF"])},
    "light": {"level": st.integers(0, 100)},
    "lock": {"locked": FLAG},
    "tstat": {
        "temperature": st.integers(40, 90),
        "humidity": st.integers(0, 100),
        "mode": st.sampled_from(["HEAT", "COOL", "AUTO", "OFF"]),
        "fan_mode": st.sampled_from(["AUTO", "ON"]),
        "heat_setpoint": st.integers(50, 80),
        "cool_setpoint": st.integers(60, 90),
    },
    "barrier": {
        "status": st.sampled_from(["OPEN", "CLOSED", "OPENING", "CLOSING", "STOPPED", "?"]),
        "tamper": FLAG,
        "low_batt": FLAG,
    },
}

UPDATES = st.lists(
    st.sampled_from(sorted(FIELDS)).flatmap(
        lambda domain: st.tuples(
            st.just(domain),
            st.integers(1, 4),  # 4 is not configured: ignored
            st.fixed_dictionaries({}, optional=FIELDS[domain]),
        )
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(UPDATES)
def test_any_history_folds_to_applying_the_final_values(
    updates: list[tuple[str, int, dict[str, Any]]],
) -> None:
    folded = Reduction(fresh())
    final: dict[tuple[str, int], dict[str, Any]] = {}
    for domain, entity_id, fields in updates:
        apply_message(folded, message(domain, {f"{domain}_id": entity_id, **fields}))
        final.setdefault((domain, entity_id), {}).update(fields)
    at_once = Reduction(fresh())
    for (domain, entity_id), fields in final.items():
        apply_message(at_once, message(domain, {f"{domain}_id": entity_id, **fields}))
    assert entities(folded.snapshot) == entities(at_once.snapshot)


@settings(max_examples=100, deadline=None)
@given(UPDATES)
def test_a_message_applied_twice_changes_nothing_the_second_time(
    updates: list[tuple[str, int, dict[str, Any]]],
) -> None:
    reduction = Reduction(fresh())
    for domain, entity_id, fields in updates:
        body = {f"{domain}_id": entity_id, **fields}
        apply_message(reduction, message(domain, body))
        before, count = reduction.snapshot, len(reduction.events)
        apply_message(reduction, message(domain, body))
        assert reduction.snapshot is before and len(reduction.events) == count


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text("0123456789ABCDEF", min_size=3, max_size=3), min_size=1, max_size=8))
def test_bulk_zone_status_folds_to_the_last_string(strings: list[str]) -> None:
    folded = Reduction(fresh())
    for text in strings:
        apply_message(folded, message("zone", {"status": text}, "get_all_zones_status"))
    last = Reduction(fresh())
    apply_message(last, message("zone", {"status": strings[-1]}, "get_all_zones_status"))
    assert entities(folded.snapshot) == entities(last.snapshot)


def test_each_change_is_one_entity_event_naming_the_fields() -> None:
    reduction = Reduction(fresh())
    apply_message(reduction, message("light", {"light_id": 2, "level": 40}))
    apply_message(reduction, message("light", {"light_id": 2, "level": 40}))
    (event,) = reduction.events
    assert isinstance(event, EntityChanged)
    assert (event.kind, event.entity_id, event.fields) == (EntityKind.LIGHT, 2, ("level",))
    assert event.old.level is None and event.new.level == 40


def test_arming_and_alarms_become_panel_events() -> None:
    reduction = Reduction(fresh())
    apply_message(reduction, message("area", {"area_id": 1, "arm_state": "DISARMED"}))
    assert not [e for e in reduction.events if isinstance(e, PanelEvent)]  # first state known
    apply_message(
        reduction, message("area", {"area_id": 1, "arm_state": "ARMED_AWAY"}, "set_arm_state")
    )
    alarm = {"area_id": 1, "alarm_state": "BURGLAR", "alarm_zone": "7"}
    apply_message(reduction, message("area", alarm))
    events = [(e.type, e.data) for e in reduction.events if isinstance(e, PanelEvent)]
    assert events == [
        ("armed", {"area": 1, "mode": "armed_away"}),
        ("alarm", {"area": 1, "zone": 7, "type": "BURGLAR"}),
    ]
    assert reduction.snapshot.areas[1].arm_state is ArmMode.ARMED_AWAY


def test_alarms_alone_raise_the_alarm_and_partial_updates_keep_it() -> None:
    """Firmware without ``alarm_state`` (ADR-0016): ``alarms`` says it; a broadcast or a
    ``set_status`` that omits the alarm fields leaves the alarm as it was."""
    reduction = Reduction(fresh())
    apply_message(reduction, message("area", {"area_id": 1, "arm_state": "ARMED_AWAY"}))
    alarm = {"area_id": 1, "alarms": ["FIRE"], "alarm_mem": ["FIRE"], "alarm_zone": "3"}
    apply_message(reduction, message("area", alarm))
    area = reduction.snapshot.areas[1]
    assert (area.alarm_active, area.alarm_type, area.phase.value) == (True, "FIRE", "triggered")
    assert (area.alarm_memory, area.alarm_memory_kinds) == (True, ("FIRE",))
    events = [(e.type, e.data) for e in reduction.events if isinstance(e, PanelEvent)]
    assert events[-1] == ("alarm", {"area": 1, "zone": 3, "type": "FIRE"})
    apply_message(reduction, message("area", {"area_id": 1, "Chime": True}, "set_status"))
    apply_message(reduction, message("area", {"area_id": 1, "ee_timer": 0}))
    area = reduction.snapshot.areas[1]
    assert (area.alarm_active, area.alarm_type, area.alarm_memory) == (True, "FIRE", True)
    disarmed = {"area_id": 1, "arm_state": "DISARMED", "alarms": [], "alarm_mem": ["FIRE"]}
    apply_message(reduction, message("area", disarmed))
    area = reduction.snapshot.areas[1]
    assert (area.alarm_active, area.alarm_type, area.phase.value) == (False, None, "disarmed")
    assert (area.alarm_memory, area.alarm_memory_kinds) == (True, ("FIRE",))  # memory only
    apply_message(reduction, message("area", {"area_id": 1, "alarm_mem": []}))
    assert reduction.snapshot.areas[1].alarm_memory is False


def test_boolean_alarm_fields_give_no_kinds() -> None:
    reduction = Reduction(fresh())
    body = {"area_id": 2, "arm_state": "ARMED_STAY", "alarms": True, "alarm_mem": True}
    apply_message(reduction, message("area", body))
    area = reduction.snapshot.areas[2]
    assert (area.alarm_active, area.alarm_type, area.phase.value) == (True, None, "triggered")
    assert (area.alarm_memory, area.alarm_memory_kinds) == (True, None)
    assert reduction.snapshot.areas[1].alarm_memory is None  # never reported: unknown


def test_bypass_changes_are_events_from_per_zone_and_bulk_status() -> None:
    reduction = Reduction(fresh())
    apply_message(reduction, message("zone", {"zone_id": 2, "BYPASSED": False}))
    apply_message(reduction, message("zone", {"zone_id": 2, "BYPASSED": True}))
    apply_message(reduction, message("zone", {"status": "000"}, "get_all_zones_status"))
    events = [(e.type, e.data) for e in reduction.events if isinstance(e, PanelEvent)]
    assert events == [
        ("bypass", {"zone": 2, "bypassed": True}),
        ("bypass", {"zone": 2, "bypassed": False}),
    ]


def test_area_troubles_reply_updates_only_the_troubles() -> None:
    reduction = Reduction(fresh())
    apply_message(reduction, message("area", {"area_id": 1, "Chime": True}))
    apply_message(reduction, message("area", {"area_id": 1, "troubles": ["AC"]}, "get_troubles"))
    area = reduction.snapshot.areas[1]
    assert area.troubles == ("AC",) and area.chime is True


def test_system_troubles_are_sorted_and_each_change_is_an_event() -> None:
    reduction = Reduction(fresh())
    apply_message(reduction, message("system", {"troubles": ["B", "A", "B"]}, "get_trouble"))
    apply_message(reduction, message("system", {"troubles": ["B"]}, "get_troubles"))
    assert reduction.snapshot.troubles == ("B",)
    events = [(e.type, e.data) for e in reduction.events if isinstance(e, PanelEvent)]
    assert events == [
        ("trouble", {"trouble": "A", "active": True}),
        ("trouble", {"trouble": "B", "active": True}),
        ("trouble", {"trouble": "A", "active": False}),
    ]


def test_unknown_routes_errors_and_unknown_ids_change_nothing() -> None:
    reduction = Reduction(fresh())
    before = reduction.snapshot
    apply_message(reduction, message("zone", {"zone_id": 9, "violated": True}))
    apply_message(reduction, message("doorbell", {"doorbell_id": 1}))
    apply_message(reduction, message("zone", {"zone_id": 1}, "get_attribs"))
    apply_message(
        reduction,
        route_message({"seq": 3, "zone": {"get_status": {"zone_id": 1, "error_code": 11004}}}),
    )
    assert reduction.snapshot is before and reduction.events == []
