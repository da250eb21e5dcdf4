"""Results a person can act on: every failed result says what went wrong in plain words
(``message``) beside the panel's ``code`` and the stable ``reason``; a wrong code is named
as the likely cause, an unusable code says why, an unknown action lists the valid ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from e27bridge.mqtt import results
from e27bridge.mqtt.commands import InvalidCommand, parse_command
from e27bridge.mqtt.results import error_message, result_payload
from e27bridge.panel.commands import CommandResult, Outcome
from e27bridge.panel.state import ArmMode

from .test_parse_command import NODES

MODES = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)
PIN = 739146


def invalid(node: str, prop: str, payload: Any) -> dict[str, Any]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with pytest.raises(InvalidCommand) as caught:
        parse_command(NODES, node, prop, raw, MODES)
    result = CommandResult(Outcome.INVALID, reason=caught.value.reason)
    error: dict[str, Any] = result_payload(result, "t", detail=caught.value.detail)["error"]
    assert set(error) == {"code", "reason", "message"} and error["code"] is None
    return error


@pytest.mark.parametrize("code", [11004, 11008, 11037])
def test_a_refusal_of_a_command_with_a_code_says_the_code_may_be_wrong(code: int) -> None:
    refused = CommandResult(Outcome.REJECTED, code=code, reason="invalid parameter")
    error = result_payload(refused, "t", carried_code=True)["error"]
    assert error["code"] == code and error["reason"] == "invalid parameter"
    assert "the user code may be wrong" in error["message"]
    assert str(code) in error["message"]
    # Without a code (a light, a lock) the same error says nothing about codes.
    plain = result_payload(refused, "t")["error"]["message"]
    assert "code may be wrong" not in plain and "invalid parameter" in plain


def test_other_panel_refusals_give_the_panels_reason() -> None:
    not_ready = CommandResult(Outcome.REJECTED, code=11015, reason="")
    message = result_payload(not_ready, "t", carried_code=True)["error"]["message"]
    assert message == "The panel refused the command: area not ready (open zones) (error 11015)."


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("0123", "leading zero"),
        ("1234567", "1 to 6 digits"),
        ("\uff11\uff12\uff13\uff14", "ASCII digits"),  # fullwidth digits
        ("12a4", "only the digits 0-9"),
        ("00", "zero is not a user code"),
    ],
)
def test_an_unusable_code_says_why_and_never_echoes_it(code: str, why: str) -> None:
    error = invalid("area-1", "command", {"action": "disarm", "code": code})
    assert error["reason"] == "invalid_code"
    assert why in error["message"] and code not in error["message"]


def test_an_unknown_action_lists_the_valid_ones() -> None:
    error = invalid("area-1", "command", {"action": "arm_night", "code": PIN})
    assert error["reason"] == "unknown_action"
    assert error["message"].endswith("valid actions: arm_away, arm_home, disarm.")
    barrier = invalid("barrier-1", "command", b"wiggle")
    assert barrier["message"].endswith("valid actions: open, close, stop.")


def test_a_missing_code_says_where_it_goes() -> None:
    error = invalid("area-1", "command", {"action": "disarm"})
    assert (
        error["message"] == 'This action needs a user code: send it as "code" in the JSON command.'
    )
    switch = invalid("zone-1", "bypassed", b"true")
    assert "bypass_code" in switch["message"]


@pytest.mark.parametrize(
    ("outcome", "reason", "words"),
    [
        (Outcome.REJECTED, "queue_full", "Too many commands"),
        (Outcome.REJECTED, "read_only", "read-only"),
        (Outcome.REJECTED, "not_allowed", "not allowed"),
        (Outcome.UNKNOWN, "no reply from the panel", "may or may not have been carried out"),
        (Outcome.UNKNOWN, "internal_error", "The bridge failed"),
        (Outcome.EXPIRED, "command_max_age exceeded", "command_max_age"),
        (Outcome.UNAVAILABLE, "link_required", "not available (link_required)"),
        (Outcome.INVALID, "retained", "never executed"),
        (Outcome.INVALID, "some_new_reason", "not valid (some_new_reason)"),
    ],
)
def test_every_outcome_has_plain_words(outcome: Outcome, reason: str, words: str) -> None:
    assert words in error_message(outcome, None, reason)


def test_every_known_reason_renders_without_placeholders() -> None:
    for reason in [*results._INVALID, *results._REFUSED]:
        for detail in ("", "x"):
            for outcome in (Outcome.INVALID, Outcome.REJECTED):
                message = error_message(outcome, None, reason, detail=detail)
                assert "{" not in message and message.endswith("."), (reason, message)
