"""The brace-balanced reader of the unframed phase (protocol §2.3, §7.4)."""

from __future__ import annotations

import json

import pytest

from e27bridge.protocol.cleartext import MAX_BUFFER, JsonObjectReader, dumps
from e27bridge.protocol.envelope import Envelope, encode_envelope_frame
from e27bridge.protocol.framing import Deframer, Frame, encode_frame

BANNER = (
    b'{"ELKWC2017":"Hello","nonce":"77274bf43c1400329c8362bacec79fe93323722c"}'
    b'{"LOCAL":"2025/12/26,18:44:00"}'
)
TRICKY = [
    {"a": "}{", "b": '\\"}'},
    {"nested": {"deeper": [{"x": "{"}, {"y": "}"}]}, "quote": 'say "hi" {'},
    {"unicode": "Café ☕ }", "escape": "\\u007b"},
]


def _feed_split(stream: bytes, cuts: list[int]) -> tuple[list[dict[str, object]], bytes]:
    reader = JsonObjectReader()
    objects: list[dict[str, object]] = []
    previous = 0
    for cut in [*sorted(cuts), len(stream)]:
        objects += reader.feed(stream[previous:cut])
        previous = cut
    return objects, reader.take_remainder()


def test_concatenated_objects_without_separator() -> None:
    objects = JsonObjectReader().feed(BANNER)
    assert [next(iter(obj)) for obj in objects] == ["ELKWC2017", "LOCAL"]


@pytest.mark.parametrize("index", range(len(TRICKY)))
def test_braces_and_quotes_inside_strings(index: int) -> None:
    obj = TRICKY[index]
    assert JsonObjectReader().feed(dumps(obj)) == [obj]


def test_objects_split_at_every_byte_boundary() -> None:
    stream = b"".join(dumps(obj) for obj in TRICKY) + BANNER
    expected = [*TRICKY, *JsonObjectReader().feed(BANNER)]
    for cut in range(len(stream) + 1):
        assert _feed_split(stream, [cut]) == (expected, b"")
    # And one byte per read, which also splits every multi-byte UTF-8 character.
    assert _feed_split(stream, list(range(len(stream)))) == (expected, b"")


def test_noise_between_objects_is_skipped() -> None:
    stream = b"\r\n  junk " + dumps({"a": 1}) + b"\x00\xff" + dumps({"b": 2}) + b" "
    assert JsonObjectReader().feed(stream) == [{"a": 1}, {"b": 2}]


def test_invalid_objects_and_non_objects_are_dropped() -> None:
    stream = b"{not json}" + b"[1,2]" + b'{"ok":true}' + b'{"bad":"\xff\xfe"}'
    assert JsonObjectReader().feed(stream) == [{"ok": True}]


def test_incomplete_object_waits_for_more() -> None:
    reader = JsonObjectReader()
    assert reader.feed(b'{"hello":{"seq":110,') == []
    assert reader.feed(b'"error_code":0}}') == [{"hello": {"seq": 110, "error_code": 0}}]


def test_overflow_is_reported_and_survived() -> None:
    reader = JsonObjectReader(max_buffer=64)
    assert reader.feed(b'{"x":"' + b"a" * 100) == []
    assert reader.overflowed
    # The reader keeps working after the flag is raised.
    assert reader.feed(b'{"y":1}') == [{"y": 1}]
    assert JsonObjectReader().feed(b"{" * (MAX_BUFFER + 10)) == []


def test_remainder_is_handed_to_the_deframer() -> None:
    """Bytes after the HELLO reply in the same read belong to the framed phase (§7.4)."""
    key = bytes(range(16))
    frames = encode_envelope_frame(key, Envelope(1, 0, 1, 0, b'{"seq":0,"zone":{"x":{}}}'))
    frames += encode_frame(0x80, b"no braces here")
    hello = b'{"hello":{"seq":110,"session_id":1,"error_code":0}}'
    for cut in range(len(hello) + len(frames) + 1):
        stream = BANNER + hello + frames
        objects, remainder = _feed_split(stream, [len(BANNER) + cut])
        assert objects[-1] == json.loads(hello)
        assert remainder == frames
        events = Deframer().feed(remainder)
        assert [type(event) for event in events] == [Frame, Frame]


def test_remainder_without_braces_or_with_a_brace_first() -> None:
    # Regression: the reader used to drop remainder bytes that preceded a "{" (or all of
    # them when there was none), so a frame sharing a read with the HELLO reply was lost.
    for data in (b"abc", b"a{c", b"{", b"\x7e\x00{"):
        frame = encode_frame(0x81, data)
        reader = JsonObjectReader()
        assert reader.feed(b'{"hello":{}}' + frame) == [{"hello": {}}]
        assert reader.take_remainder() == frame


def test_take_remainder_returns_the_partial_object_and_empties_the_buffer() -> None:
    reader = JsonObjectReader()
    assert reader.feed(b'{"a":1}{"b"') == [{"a": 1}]
    assert reader.take_remainder() == b'{"b"'
    assert reader.take_remainder() == b""


def test_dumps_is_compact_and_keeps_unicode() -> None:
    assert dumps({"seq": 1, "name": "Café", "list": [1, 2]}) == (
        '{"seq":1,"name":"Café","list":[1,2]}'.encode()
    )
