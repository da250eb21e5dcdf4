"""The JSON message layer: request encoding, forms A-F of protocol §8.2, malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from e27bridge.protocol.cleartext import dumps
from e27bridge.protocol.errors import MalformedMessage, PanelErrorCode, PanelRejected, reason_for
from e27bridge.protocol.messages import (
    SEQ_MAX,
    MessageKind,
    SeqAllocator,
    decode_message,
    encode_request,
    parse_request,
    route_message,
)


def decode(obj: Any) -> Any:
    return decode_message(dumps(obj))


# --------------------------------------------------------------------------- requests


def test_request_key_order_and_session() -> None:
    text = encode_request(12, 1234567, "area", "get_status", {"area_id": 1})
    assert text == b'{"seq":12,"session_id":1234567,"area":{"get_status":{"area_id":1}}}'
    assert encode_request(1, None, "system", "r_u_alive", {}) == (
        b'{"seq":1,"system":{"r_u_alive":{}}}'
    )
    assert encode_request(3, 9, "authenticate", None, {"pin": 1234}) == (
        b'{"seq":3,"session_id":9,"authenticate":{"pin":1234}}'
    )
    assert "Café".encode() in encode_request(1, 1, "zone", "get_attribs", {"name": "Café"})


def test_seq_allocator_wraps_to_ten_and_never_gives_zero() -> None:
    allocator = SeqAllocator(start=SEQ_MAX)
    assert [allocator.next() for _ in range(3)] == [SEQ_MAX, 10, 11]
    with pytest.raises(ValueError):
        SeqAllocator(start=SEQ_MAX + 1)


# --------------------------------------------------------------------------- forms A-F


def test_form_a_normal_reply() -> None:
    message = decode(
        {
            "seq": 12,
            "session_id": 5,
            "area": {"get_status": {"area_id": 1, "arm_state": "DISARMED", "error_code": 0}},
        }
    )
    assert (message.kind, message.seq, message.domain, message.command) == (
        MessageKind.REPLY,
        12,
        "area",
        "get_status",
    )
    assert message.body["arm_state"] == "DISARMED"
    assert message.session_id == 5
    assert message.ok
    message.raise_for_error()


def test_form_a_error_inside_the_command() -> None:
    message = decode({"seq": 4, "zone": {"set_status": {"zone_id": 1, "error_code": 11008}}})
    assert not message.ok
    assert message.error_code == PanelErrorCode.NOAUTH
    with pytest.raises(PanelRejected) as info:
        message.raise_for_error()
    assert info.value.code == 11008
    assert info.value.panel_message is None
    assert reason_for(11008) in str(info.value)


def test_form_b_reply_under_another_command_name() -> None:
    message = decode({"seq": 1, "area": {"set_status": {"area_id": 1, "error_code": 0}}})
    assert (message.kind, message.seq, message.command) == (MessageKind.REPLY, 1, "set_status")


@pytest.mark.parametrize("value", ["HomeWiFi", ["a", "b"], 7, None, True])
def test_form_c_non_object_command_value(value: Any) -> None:
    message = decode({"seq": 22, "network": {"get_ssid": value, "error_code": 0}})
    assert (message.domain, message.command, message.value) == ("network", "get_ssid", value)
    assert message.body == {}
    assert message.ok


def test_form_c_with_a_domain_level_error() -> None:
    message = decode(
        {"seq": 22, "network": {"get_ssid": "", "error_code": 11008, "error_text": "no"}}
    )
    assert (message.error_code, message.error_message) == (11008, "no")


def test_form_d_domain_level_error() -> None:
    message = decode(
        {"seq": 21, "network": {"error_code": 11008, "error_message": "no authorization"}}
    )
    assert (message.kind, message.domain, message.command) == (
        MessageKind.REPLY,
        "network",
        None,
    )
    assert (message.error_code, message.error_message) == (11008, "no authorization")
    with pytest.raises(PanelRejected, match="no authorization"):
        message.raise_for_error()


@pytest.mark.parametrize(
    ("root", "kind"),
    [
        ({"seq": 0, "error_code": 11008, "error_message": "no authorization"}, "broadcast"),
        ({"seq": 5, "error_code": 11036, "error_text": "invalid session"}, "reply"),
        ({"error_code": 11001, "error_detail": "x", "payload": {}, "detail": 1}, "uncorrelated"),
    ],
)
def test_form_e_root_level_error(root: dict[str, Any], kind: str) -> None:
    message = decode(root)
    assert message.kind is MessageKind(kind)
    assert (message.domain, message.command) == (None, None)
    assert message.error_code == root["error_code"]
    assert not message.ok


def test_form_f_authenticate_reply_nested_seq_and_session() -> None:
    message = decode(
        {"authenticate": {"seq": 34, "session_id": 7654321, "user_id": 1, "error_code": 0}}
    )
    assert (message.kind, message.seq, message.domain, message.command) == (
        MessageKind.REPLY,
        34,
        "authenticate",
        None,
    )
    assert message.session_id == 7654321
    refused = decode({"authenticate": {"seq": 35, "error_code": 11037}})
    assert refused.error_code == PanelErrorCode.INVALID_PIN


def test_hello_reply_nested_seq() -> None:
    message = decode({"hello": {"seq": 110, "session_id": 1, "error_code": 0}})
    assert (message.seq, message.domain, message.session_id) == (110, "hello", 1)


def test_error_code_precedence_command_then_domain() -> None:
    message = decode(
        {"seq": 1, "zone": {"error_code": 2, "get_status": {"zone_id": 1, "error_code": 1}}}
    )
    assert message.error_code == 1
    fallback = decode(
        {"seq": 1, "zone": {"error_code": 2, "get_status": {"zone_id": 1, "error_code": 0}}}
    )
    assert fallback.error_code == 2


def test_broadcast_and_uncorrelated_kinds() -> None:
    assert decode({"seq": 0, "zone": {"get_status": {"zone_id": 1}}}).kind is (
        MessageKind.BROADCAST
    )
    assert decode({"zone": {"get_status": {"zone_id": 1}}}).kind is MessageKind.UNCORRELATED


def test_body_is_not_in_repr() -> None:
    message = decode({"seq": 9, "user": {"get_attribs": {"user_id": 1, "pin": 987654}}})
    assert "987654" not in repr(message)


# --------------------------------------------------------------------------- malformed


MALFORMED_PAYLOADS = [
    b"",
    b"not json",
    b"\xff\xfe{}",
    b"[1,2,3]",
    b'"text"',
    b"null",
    b"{}",
    b'{"seq":1}',
    b'{"seq":1,"session_id":2}',
    b'{"seq":1,"area":{},"zone":{}}',
    b'{"seq":1,"area":5}',
    b'{"seq":1,"area":[]}',
    b'{"seq":1,"area":{}}',
    b'{"seq":-1,"area":{"get_status":{}}}',
    b'{"seq":"5","area":{"get_status":{}}}',
    b'{"seq":true,"area":{"get_status":{}}}',
    b'{"seq":1.5,"area":{"get_status":{}}}',
    b'{"seq":1,"area":{"get_status":{},"set_status":{}}}',
    b'{"seq":1,"area":{"a":{},"b":{},"error_code":5}}',
    b'{"seq":1,"error_code":0,"area":{"get_status":{}}}',
    b'{"authenticate":{"seq":-3}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]


@pytest.mark.parametrize("payload", MALFORMED_PAYLOADS, ids=range(len(MALFORMED_PAYLOADS)))
def test_malformed_messages_raise_the_typed_error(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_message(payload)


def test_route_message_refuses_non_objects() -> None:
    with pytest.raises(MalformedMessage):
        route_message([1])


# --------------------------------------------------------------------------- panel side


def test_parse_request_forms() -> None:
    request = parse_request(b'{"seq":4,"session_id":7,"zone":{"set_status":{"zone_id":2}}}')
    assert (request.seq, request.session_id, request.domain, request.command) == (
        4,
        7,
        "zone",
        "set_status",
    )
    assert request.params == {"zone_id": 2}
    dealer = parse_request(b'{"seq":5,"area":{"get_table_info":true}}')
    assert dealer.args is True
    assert dealer.params == {}
    assert dealer.session_id is None
    auth = parse_request(b'{"seq":6,"session_id":7,"authenticate":{"pin":1234}}')
    assert (auth.domain, auth.command, auth.params) == ("authenticate", None, {"pin": 1234})
    assert "1234" not in repr(auth)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00",
        b"[]",
        b'{"area":{"get_status":{}}}',
        b'{"seq":0,"area":{"get_status":{}}}',
        b'{"seq":-2,"area":{"get_status":{}}}',
        b'{"seq":"1","area":{"get_status":{}}}',
        b'{"seq":1}',
        b'{"seq":1,"area":{"get_status":{}},"zone":{"get_status":{}}}',
        b'{"seq":1,"area":{}}',
        b'{"seq":1,"area":{"a":{},"b":{}}}',
        b'{"seq":1,"area":"get_status"}',
        b"{" * 100_000,
    ],
)
def test_parse_request_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_request(payload)


def test_reason_for_known_and_unknown_codes() -> None:
    assert reason_for(11004).startswith("invalid parameter")
    assert reason_for(11002) == "id exists"
    assert reason_for(12345) == "panel error 12345"
    assert json.loads(dumps({"reason": reason_for(11027)}))["reason"]


def test_numeric_string_error_code_is_still_an_error() -> None:
    message = route_message(
        {"seq": 3, "zone": {"set_status": {"zone_id": 1, "error_code": "11008"}}}
    )
    assert message.error_code == 11008
    assert not message.ok
