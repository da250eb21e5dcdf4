"""What a result says: its status and, for anything but ``ok``, an ``error`` a person can act on.

``error`` is ``{"code", "reason", "message"}``: the panel's error code (or null), a stable
snake_case ``reason`` for programs, and a ``message`` in plain words for people: what went
wrong and what to do. The same shape answers ``/set`` commands and bridge requests
(docs/mqtt-results.md). Messages never repeat a payload: it may hold a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from e27bridge.panel.commands import CommandResult, Outcome
from e27bridge.protocol.errors import PanelErrorCode, reason_for

# Panel codes that, for a command that carried a user code, most often mean the code.
_CODE_ERRORS = frozenset(
    {PanelErrorCode.INVALID_PARAM, PanelErrorCode.NOAUTH, PanelErrorCode.INVALID_PIN}
)

_STATUSES = frozenset(o.value for o in Outcome)  # a reason that says no more than the status
# reason -> plain words; ``{detail}`` is what the check found (never the payload itself).
_INVALID: Mapping[str, str] = {
    "unknown_entity": "The panel has no entity {detail}; the Homie description lists them.",
    "unknown_property": "{detail} is not a property of this entity.",
    "not_settable": "{detail} is read-only: it cannot be set.",
    "payload_too_large": "The payload is too large; commands are short JSON or plain values.",
    "not_utf8": "The payload is not UTF-8 text.",
    "json_too_deep": "The JSON is nested too deeply.",
    "invalid_json": "The payload is not valid JSON{colon}{detail}.",
    "invalid_value": "The value is not valid: {detail}.",
    "out_of_range": "The value is out of range: {detail}.",
    "unknown_field": "The command has fields it does not know: {detail}. Allowed: action, "
    "code, transaction.",
    "unknown_action": "Unknown or missing action; valid actions: {detail}.",
    "code_required": "This action needs a user code: {detail}.",
    "invalid_code": "The code cannot be sent to the panel: {detail}.",
    "retained": "A retained /set is never executed. Publish commands without the retain flag, "
    "and clear this one by publishing an empty retained message to the same topic.",
    "unknown_panel": "No panel {detail} is configured on this bridge.",
    "invalid_request": "The request is not valid: {detail}.",
}
_DEFAULT_DETAIL: Mapping[str, str] = {
    "code_required": 'send it as "code" in the JSON command',
    "unknown_entity": "named in the topic",
    "unknown_property": "The property named in the topic",
    "not_settable": "This property",
    "invalid_value": "the value does not fit the property",
    "out_of_range": "see the property's format",
    "invalid_code": "codes are 1 to 6 digits",
    "invalid_request": "see docs/mqtt-results.md",
}
_REFUSED: Mapping[str, str] = {
    "queue_full": "Too many commands are waiting for this panel; none was sent. Try again "
    "in a moment.",
    "read_only": "This panel (or the whole bridge) is configured read-only: no command is "
    "sent to it.",
    "not_allowed": "Commands to this entity are not allowed by the panel's commands list in "
    "the bridge configuration.",
}


def error_message(
    outcome: Outcome,
    code: int | None,
    reason: str,
    *,
    detail: str = "",
    carried_code: bool = False,
) -> str:
    """The plain-words message for one failed command or request."""
    if code is not None:
        return _panel_refusal(code, reason, carried_code)
    if outcome is Outcome.INVALID:
        text = _INVALID.get(reason, "The command is not valid ({reason}){colon}{detail}.")
        colon = ": " if detail else ""
        detail = detail or _DEFAULT_DETAIL.get(reason, "")
        return text.format(detail=detail, reason=reason, colon=colon)
    if outcome is Outcome.REJECTED:
        return _REFUSED.get(reason, f"The bridge refused the command ({reason}).")
    if outcome is Outcome.UNKNOWN:
        what = (
            "The bridge failed while carrying out the command (its log says why)"
            if reason == "internal_error"
            else f"The command was sent but no reply came ({reason})"
        )
        return (
            f"{what}: it may or may not have been carried out. Check the state before "
            "sending it again."
        )
    if outcome is Outcome.EXPIRED:
        return "The command waited longer than command_max_age for its turn and was not sent."
    return f"The panel is not available ({reason}); the command was not sent."


def _panel_refusal(code: int, reason: str, carried_code: bool) -> str:
    said = reason if reason and reason not in _STATUSES else reason_for(code)
    if carried_code and code in _CODE_ERRORS:
        return (
            f"The panel refused the command ({said}, error {code}): the user code may be "
            "wrong, or that user may not be allowed to do this in this area."
        )
    return f"The panel refused the command: {said} (error {code})."


def error_body(
    outcome: Outcome,
    code: int | None,
    reason: str,
    *,
    detail: str = "",
    carried_code: bool = False,
) -> dict[str, Any]:
    message = error_message(outcome, code, reason, detail=detail, carried_code=carried_code)
    return {"code": code, "reason": reason, "message": message}


def result_payload(
    result: CommandResult,
    topic: str,
    transaction: Any = None,
    *,
    detail: str = "",
    carried_code: bool = False,
) -> dict[str, Any]:
    """The one JSON result of a ``/set`` command (``<base>/<panel>/response``)."""
    error = None
    if not result.ok:
        reason = result.reason or result.outcome.value
        error = error_body(
            result.outcome, result.code, reason, detail=detail, carried_code=carried_code
        )
    payload = {
        "transaction": transaction,
        "topic": topic,
        "status": result.outcome.value,
        "error": error,
    }
    if result.data is not None:  # what a composite command did (zones it bypassed, ...)
        payload["data"] = dict(result.data)
    return payload
