"""UDP discovery datagrams and the connect banner (protocol §2.3, §3)."""

from __future__ import annotations

import pytest

from e27bridge.protocol.cleartext import JsonObjectReader, dumps
from e27bridge.protocol.discovery import (
    PROBE,
    banner_nonce,
    build_banner,
    build_reply,
    format_mac,
    is_probe,
    normalize_mac,
    parse_reply,
)

REPLY = {
    "ELKWC2017": "Hello",
    "NAME": "  Main House ",
    "MAC_ADDR": "aa:bb:cc:00:11:22",
    "IPV4_ADDR": "192.0.2.7",
    "LISTEN_PORT": 2101,
    "ENCRYPTED_LISTEN_PORT": 2601,
    "SERIAL": "E27123456",
}


@pytest.mark.parametrize(
    "text",
    ["aa:bb:cc:00:11:22", "AA-BB-CC-00-11-22", "aabb.cc00.1122", "AABBCC001122", " aabbcc001122 "],
)
def test_mac_spellings_normalise(text: str) -> None:
    assert normalize_mac(text) == "AABBCC001122"
    assert format_mac(text) == "AA:BB:CC:00:11:22"


@pytest.mark.parametrize(
    "text", ["", "00:00:00:00:00:00", "aabbcc00112", "gg:bb:cc:00:11:22", "aabbcc0011223"]
)
def test_bad_macs_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_mac(text)


def test_reply_is_parsed_with_the_datagram_source_as_host() -> None:
    announcement = parse_reply(dumps(REPLY), "192.0.2.99")
    assert announcement is not None
    assert announcement.host == "192.0.2.99"
    assert announcement.reported_ipv4 == "192.0.2.7"
    assert announcement.mac == "AABBCC001122"
    assert announcement.name == "Main House"
    assert (announcement.port, announcement.tls_port, announcement.serial) == (
        2101,
        2601,
        "E27123456",
    )


def test_reply_defaults_and_extra_fields() -> None:
    minimal = {"ELKWC2017": "Hello", "MAC_ADDR": "AABBCC001122", "LISTEN_PORT": 2101, "X": [1]}
    announcement = parse_reply(dumps(minimal), "h")
    assert announcement is not None
    assert (announcement.tls_port, announcement.name, announcement.serial) == (0, "", "")


@pytest.mark.parametrize(
    "datagram",
    [
        PROBE,
        b"",
        b"ELKWC2017",
        b"\xffELKWC2017",
        b'["ELKWC2017"]',
        dumps({**REPLY, "LISTEN_PORT": 0}),
        dumps({**REPLY, "LISTEN_PORT": 70000}),
        dumps({**REPLY, "LISTEN_PORT": "2101"}),
        dumps({**REPLY, "LISTEN_PORT": True}),
        dumps({**REPLY, "ENCRYPTED_LISTEN_PORT": -1}),
        dumps({**REPLY, "MAC_ADDR": "nope"}),
        dumps({k: v for k, v in REPLY.items() if k != "MAC_ADDR"}),
        dumps({k: v for k, v in REPLY.items() if k != "ELKWC2017"}),
    ],
)
def test_unusable_datagrams_give_none(datagram: bytes) -> None:
    assert parse_reply(datagram, "192.0.2.1") is None


def test_build_reply_round_trips() -> None:
    datagram = build_reply(
        name="Garage", mac="a1b2c3d4e5f6", ipv4="127.0.0.1", port=12101, serial="S1"
    )
    announcement = parse_reply(datagram, "127.0.0.1")
    assert announcement is not None
    assert (announcement.name, announcement.mac, announcement.port, announcement.tls_port) == (
        "Garage",
        "A1B2C3D4E5F6",
        12101,
        0,
    )
    assert not is_probe(datagram)


@pytest.mark.parametrize(
    ("datagram", "expected"),
    [
        (PROBE, True),
        (b'{ "FIND" : "ELKWCID" }', True),
        (b'{"FIND":"ELKWCID","extra":1}', True),
        (b'{"FIND":"OTHER"}', False),
        (b"FIND ELKWCID", False),
        (b"\xff", False),
        (b'["FIND"]', False),
    ],
)
def test_probe_recognition(datagram: bytes, expected: bool) -> None:
    assert is_probe(datagram) is expected


def test_banner_round_trip_and_nonce_extraction() -> None:
    banner = build_banner("ab" * 20, "2025/12/26,18:44:00")
    objects = JsonObjectReader().feed(banner)
    assert [banner_nonce(obj) for obj in objects] == ["ab" * 20, None]
    assert banner_nonce({"nonce": "x"}) is None  # without the marker
    assert banner_nonce({"ELKWC2017": "Hello", "nonce": ""}) is None
    assert banner_nonce({"ELKWC2017": "Hello", "nonce": 5}) is None
