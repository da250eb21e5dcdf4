"""Typed models: tolerant parsing of reply bodies; malformed bodies are typed errors."""

from __future__ import annotations

from typing import Any

import pytest

from e27bridge.protocol import models, paging
from e27bridge.protocol.errors import MalformedMessage


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ("5", 5),
        (" -7 ", -7),
        (3.0, 3),
        (3.5, None),
        (True, None),
        (None, None),
        ("", None),
        ("-", None),
        # Regression: these passed an isdigit() check and then crashed int().
        ("²", None),
        ("--5", None),
        ("١٢", None),
        ("9" * 5000, None),
    ],
)
def test_as_int(value: Any, expected: int | None) -> None:
    assert models.as_int(value) == expected


def test_area_ids_from_odd_strings_are_malformed_not_crashes() -> None:
    with pytest.raises(MalformedMessage):
        models.parse_area_status({"area_id": "²"})
    with pytest.raises(MalformedMessage):
        models.parse_zone_status({"zone_id": "--1"})


def test_area_status_is_partial_and_tolerant() -> None:
    status = models.parse_area_status(
        {"area_id": "1", "arm_state": "armed_stay", "Chime": True, "unknown": [1], "ee_timer": 30}
    )
    assert (status.area_id, status.arm_state, status.chime, status.ee_timer) == (
        1,
        "ARMED_STAY",
        True,
        30,
    )
    assert status.ready_status is None
    assert status.ready is None


def test_zone_status_from_secure_state_and_flags() -> None:
    violated = models.parse_zone_status(
        {"zone_id": 5, "secure_state": "VIOLATED", "BYPASSED": False}
    )
    assert (violated.violated, violated.bypassed, violated.trouble) == (True, False, False)
    normal = models.parse_zone_status({"zone_id": 5, "secure_state": "NORMAL"})
    assert (normal.violated, normal.bypassed) == (False, None)


def test_paged_transfer_refuses_bad_blocks() -> None:
    transfer = paging.PagedTransfer("zone")
    with pytest.raises(MalformedMessage):
        transfer.add({"block_id": 3, "block_count": 2, "zones": [1]})
    with pytest.raises(MalformedMessage):
        transfer.add({"block_id": 1, "block_count": 1, "zones": [0]})
    with pytest.raises(MalformedMessage):
        transfer.add({"block_id": 1, "zones": [1]})
    empty = paging.PagedTransfer("zone")
    empty.add({"block_id": 0, "block_count": 0})
    assert empty.done
    assert empty.ids() == ()
