"""``alarms`` / ``alarm_mem`` in any JSON form (ADR-0016), and what an area status makes of
them when ``alarm_state`` is there or not."""

from __future__ import annotations

from typing import Any

import pytest

from e27bridge.protocol import models
from e27bridge.protocol.alarm_fields import AlarmField, parse_alarm_field

NAMED_NONE = AlarmField(False, ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),  # absent: a partial update says nothing
        ([], NAMED_NONE),
        (["FIRE"], AlarmField(True, ("FIRE",))),
        (["FIRE", " BURGLAR ", "FIRE"], AlarmField(True, ("FIRE", "BURGLAR"))),
        (["NO_ALARM_ACTIVE", "", "none", 0, False], NAMED_NONE),
        ([3, True], AlarmField(True, ("3", "ALARM"))),
        ([{"type": "FIRE", "zone": 3}, {"zone": 4}, {}], AlarmField(True, ("FIRE", "ALARM"))),
        ([{"alarm_type": "NONE"}], NAMED_NONE),
        ([[1]], NAMED_NONE),  # nothing we can read as a kind
        ({"FIRE": True, "BURGLAR": False}, AlarmField(True, ("FIRE",))),
        ({}, NAMED_NONE),
        (True, AlarmField(True)),
        (False, AlarmField(False)),
        (0, AlarmField(False)),
        (4, AlarmField(True)),  # a count or a bit mask
        (0.0, AlarmField(False)),
        (float("nan"), None),
        ("", NAMED_NONE),
        ("NO_ALARM_ACTIVE", NAMED_NONE),
        ("no alarm active", NAMED_NONE),
        ("None", NAMED_NONE),
        ("0", AlarmField(False)),
        ("000", AlarmField(False)),
        ("12", AlarmField(True)),
        ("-1", AlarmField(True)),
        ("--5", AlarmField(True, ("--5",))),  # not a number: a name
        ("9" * 5000, AlarmField(True)),  # no int() of a huge string
        ("true", AlarmField(True)),
        ("off", NAMED_NONE),
        (" FIRE ", AlarmField(True, ("FIRE",))),
    ],
)
def test_any_json_form_is_read(value: Any, expected: AlarmField | None) -> None:
    assert parse_alarm_field(value) == expected


def area(**fields: Any) -> models.AreaStatus:
    return models.parse_area_status({"area_id": 1, **fields})


def test_alarm_state_decides_when_sent() -> None:
    status = area(alarm_state="NO_ALARM_ACTIVE", alarms=["FIRE"])
    assert status.alarm_active is False and status.alarm_type is None
    status = area(alarm_state="BURGLAR", alarms=[])
    assert status.alarm_active is True and status.alarm_type == "BURGLAR"


def test_without_alarm_state_the_alarms_field_decides() -> None:
    status = area(alarms=["FIRE", "BURGLAR"], alarm_mem=["FIRE", "BURGLAR"])
    assert status.alarm_active is True and status.alarm_type == "FIRE,BURGLAR"
    status = area(alarms=True)
    assert status.alarm_active is True and status.alarm_type is None
    assert area(alarms="NO_ALARM_ACTIVE").alarm_active is False
    assert area(alarms=0).alarm_active is False


def test_alarm_memory_alone_is_no_alarm() -> None:
    for memory in (["FIRE"], True, "FIRE"):
        status = area(alarms=[], alarm_mem=memory)
        assert status.alarm_active is False
        assert status.alarm_mem is not None and status.alarm_mem.any
    status = area(alarm_mem=["FIRE"])  # nothing about the alarm itself: unknown
    assert status.alarm_active is None


def test_a_status_without_alarm_fields_says_nothing_about_the_alarm() -> None:
    status = area(arm_state="ARMED_AWAY")
    assert (status.alarm_active, status.alarms, status.alarm_mem) == (None, None, None)
