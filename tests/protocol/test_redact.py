"""The redactor the log and the traffic tap share: secret keys at any depth, keyed secrets
inside text, everything else untouched."""

from __future__ import annotations

from e27bridge.panel.tap import inbound_record, request_record
from e27bridge.protocol import requests
from e27bridge.protocol.messages import Inbound, MessageKind
from e27bridge.protocol.redact import REDACTED, redact_json


def test_secret_keys_at_any_depth_and_in_text() -> None:
    value = {
        "area_id": 1,
        "PIN": 1234,
        "users": [{"name": "Ann", "code": "4321"}, {"nested": {"AccessCode": "x"}}],
        "note": 'sent {"pin": 918273} and passphrase=hunter2',
        "ok": True,
    }
    assert redact_json(value) == {
        "area_id": 1,
        "PIN": REDACTED,
        "users": [{"name": "Ann", "code": REDACTED}, {"nested": {"AccessCode": REDACTED}}],
        "note": f'sent {{"pin": {REDACTED}}} and passphrase={REDACTED}',
        "ok": True,
    }


def test_too_deep_a_value_is_dropped_whole() -> None:
    deep: object = "918273"
    for _ in range(40):
        deep = {"x": deep}
    assert "918273" not in repr(redact_json(deep))


def test_tap_records_are_redacted_when_built() -> None:
    out = request_record(7, requests.arm_area(1, "ARMED_AWAY", 918273))
    assert out.body["pin"] == REDACTED and out.direction == "out" and out.seq == 7
    auth = request_record(8, requests.authenticate(918273))
    assert "918273" not in repr(auth.as_json())
    reply = Inbound(MessageKind.REPLY, 9, "user", "get_attribs", {"user_id": 1, "pin": 918273})
    record = inbound_record(reply)
    assert record.body == {"user_id": 1, "pin": REDACTED} and record.kind == "reply"
