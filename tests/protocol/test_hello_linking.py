"""HELLO and API_LINK as typed outcomes, including the odd replies (protocol §6.4, §7.2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from e27bridge.protocol.errors import LinkFailed, PanelErrorCode
from e27bridge.protocol.hello import (
    HelloAccepted,
    HelloLinkRequired,
    HelloNoSession,
    HelloRejected,
    build_hello_accept,
    build_hello_error,
    classify_hello_reply,
    find_hello_reply,
    parse_hello_request,
)
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import (
    LinkProof,
    LinkRefused,
    LinkReplyReader,
    LinkSlotsFull,
    build_link_reply,
    classify_link_reply,
    derive_link_proof,
    parse_link_request,
)

LINK = LinkKeys(enc="00112233445566778899aabbccddeeff", hmac="0123456789abcdef0123")
SK = "6982f249f601539000c60c22128eb92b"
SHM = "ff832889539afbcb9a865a7d2d2ca47814c961f522ca2aeb5c7e799cf3912367"


def hello(**body: Any) -> dict[str, Any]:
    return {"hello": body}


def test_accepted_with_a_digit_string_session_id() -> None:
    outcome = classify_hello_reply(hello(session_id="2244432638", sk=SK, shm=SHM), LINK)
    assert isinstance(outcome, HelloAccepted)
    assert outcome.session_id == 2244432638
    assert SK not in repr(outcome)


@pytest.mark.parametrize("code", [11006, 11008])
def test_link_required_codes(code: int) -> None:
    assert classify_hello_reply(hello(error_code=code), LINK) == HelloLinkRequired(code, None)


def test_other_codes_are_rejections() -> None:
    outcome = classify_hello_reply(hello(error_code=11036, error_message="busy"), LINK)
    assert outcome == HelloRejected(11036, "busy")


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, ("session_id", "sk", "shm")),
        ({"error_code": 0, "session_id": None, "sk": SK, "shm": SHM}, ("session_id",)),
        ({"session_id": 5, "sk": "", "shm": SHM}, ("sk",)),
        ({"session_id": 5, "sk": SK, "shm": SHM[:32]}, ("shm",)),
        ({"session_id": -1, "sk": SK, "shm": SHM}, ("session_id",)),
    ],
)
def test_no_session(body: dict[str, Any], missing: tuple[str, ...]) -> None:
    assert classify_hello_reply(hello(**body), LINK) == HelloNoSession(missing)


@pytest.mark.parametrize(
    "reply",
    [
        {"nothello": {}},
        {"hello": "yes"},
        hello(error_code="11006"),
        hello(error_code=True),
        hello(session_id=1, sk="zz" * 16, shm=SHM),
    ],
)
def test_malformed_replies_are_rejections(reply: dict[str, Any]) -> None:
    outcome = classify_hello_reply(reply, LINK)
    assert isinstance(outcome, HelloRejected)
    assert outcome.code == PanelErrorCode.UNKNOWN


def test_odd_digit_strings_do_not_crash() -> None:
    # Regression: "²".isdigit() is True but int("²") raises; the classifier must not.
    for session_id in ("²", "١٢", "9" * 5000):
        outcome = classify_hello_reply(hello(session_id=session_id, sk=SK, shm=SHM), LINK)
        assert outcome == HelloNoSession(("session_id",))


def test_sk_that_does_not_decrypt_to_a_key_is_rejected() -> None:
    # Regression: bytes.fromhex skips whitespace, so 32 spaces "decrypted" to an empty key
    # and the session would have failed later with an uncaught AES error.
    for sk, shm in ((" " * 32, SHM), (SK, " " * 64), ("00 " * 10 + "00", SHM)):
        outcome = classify_hello_reply(hello(session_id=1, sk=sk, shm=shm), LINK)
        assert isinstance(outcome, HelloRejected)


def test_panel_side_accept_and_error_round_trip() -> None:
    accept = json.loads(
        build_hello_accept(
            seq=110,
            link_keys=LINK,
            session_id=77,
            session_key=bytes(range(16)),
            session_hmac=bytes(range(32)),
        )
    )
    outcome = classify_hello_reply(accept, LINK)
    assert outcome == HelloAccepted(77, bytes(range(16)), bytes(range(32)))
    refused = json.loads(build_hello_error(11006, "invalid_id", seq=110))
    assert refused == {"hello": {"seq": 110, "error_code": 11006, "error_message": "invalid_id"}}
    assert classify_hello_reply(refused, LINK) == HelloLinkRequired(11006, "invalid_id")
    assert json.loads(build_hello_error(11036)) == {"hello": {"error_code": 11036}}


def test_find_hello_reply_skips_banner_objects() -> None:
    objects = [{"ELKWC2017": "Hello", "nonce": "x"}, {"LOCAL": "t"}, hello(error_code=0)]
    assert find_hello_reply(objects) == objects[2]
    assert find_hello_reply(objects[:2]) is None


@pytest.mark.parametrize(
    "obj",
    [{}, {"hello": []}, {"hello": {"sn": ""}}, {"hello": {"sn": 5}}, {"hello": {"mn": "1"}}],
)
def test_parse_hello_request_refuses_unusable_requests(obj: dict[str, Any]) -> None:
    assert parse_hello_request(obj) is None


def test_parse_hello_request_defaults() -> None:
    assert parse_hello_request({"seq": True, "hello": {"sn": "A"}}) == (
        110,
        ClientIdentity(sn="A", mn="", fwver="", hwver="", osver=""),
    )


# --------------------------------------------------------------------------- linking


def test_link_keys_validation_and_redaction() -> None:
    with pytest.raises(ValueError):
        LinkKeys(enc="00", hmac="00")
    with pytest.raises(ValueError):
        LinkKeys(enc="zz" * 16, hmac="00")
    assert LINK.enc not in repr(LINK)


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        ([{"api_link": {"enc": "AB" * 16, "hmac": "CD" * 20}}], LinkKeys("ab" * 16, "cd" * 20)),
        (
            [{"LOCAL": "x"}, {"api_link": {"enc": "ab" * 16, "hmac": "cd"}}],
            LinkKeys("ab" * 16, "cd"),
        ),
        ([{"api_link": {"error_code": 11005}}], LinkRefused(11005, None)),
        ([{"api_link": {"enc": "ab", "hmac": "cd"}}], LinkRefused(None, "malformed link keys")),
        ([{"api_link": {"enc": 5, "hmac": "cd"}}], LinkRefused(0, None)),
        ([{"api_link": "x"}], LinkRefused(None, "no api_link object in reply")),
        ([], LinkRefused(None, "no api_link object in reply")),
        ([{"error_message": "Not Enough Space"}], LinkSlotsFull("Not Enough Space")),
    ],
)
def test_classify_link_reply(objects: list[dict[str, Any]], expected: object) -> None:
    assert classify_link_reply(objects) == expected


def test_link_reply_with_the_wrong_tempkey_is_a_link_failure() -> None:
    wire = build_link_reply("11" * 16, {"enc": "ab" * 16, "hmac": "cd" * 20})
    reader = LinkReplyReader(LinkProof(password="x", tempkey_hex="22" * 16))
    with pytest.raises(LinkFailed):
        reader.feed(wire)


def test_link_reply_reader_reports_the_ack_byte() -> None:
    wire = build_link_reply("11" * 16, {"enc": "ab" * 16, "hmac": "cd" * 20}, head=6)
    reader = LinkReplyReader(LinkProof(password="x", tempkey_hex="11" * 16))
    assert reader.feed(b"noise" + wire) == LinkKeys("ab" * 16, "cd" * 20)
    assert reader.ack == 6


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"api_link": {}},
        {"api_link": {"pass": "a", "cnonce": "b", "mn": "c"}},
        {"api_link": {"pass": "a", "cnonce": "b", "mn": "c", "sn": ""}},
        {"api_link": {"pass": 1, "cnonce": "b", "mn": "c", "sn": "d"}},
    ],
)
def test_parse_link_request_refuses_incomplete_requests(obj: dict[str, Any]) -> None:
    assert parse_link_request(obj) is None


def test_wrong_secrets_give_a_different_proof() -> None:
    identity = ClientIdentity(sn="001122334455")
    right, wrong = (
        derive_link_proof(
            access_code=code, passphrase="p", identity=identity, nonce="n" * 40, cnonce="c" * 40
        )
        for code in ("1234", "1235")
    )
    assert right.password != wrong.password
    assert right.tempkey_hex != wrong.tempkey_hex
    assert len(right.password) == 8
    assert len(right.tempkey_hex) == 32
