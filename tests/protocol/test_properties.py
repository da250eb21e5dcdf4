"""Property tests: round trips under random chunking, and no decoder ever raises anything
but its documented typed error on arbitrary input (issue 2: at least 10,000 examples for the
deframer and the decoders; issue 9: the fuzz budget in ``tests/fuzzing.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from e27bridge.protocol import models, paging
from e27bridge.protocol.cleartext import JsonObjectReader, dumps
from e27bridge.protocol.discovery import parse_reply
from e27bridge.protocol.envelope import Envelope, decode_envelope, encode_envelope_frame
from e27bridge.protocol.errors import EnvelopeError, MalformedMessage
from e27bridge.protocol.framing import (
    START,
    Deframer,
    Frame,
    FramingError,
    encode_frame,
)
from e27bridge.protocol.hello import (
    HelloAccepted,
    HelloLinkRequired,
    HelloNoSession,
    HelloRejected,
    classify_hello_reply,
    parse_hello_request,
)
from e27bridge.protocol.identity import LinkKeys
from e27bridge.protocol.linking import classify_link_reply, parse_link_request
from e27bridge.protocol.messages import Inbound, decode_message, parse_request, route_message
from fuzzing import fuzz

props = fuzz


LINK_KEYS = LinkKeys(enc="00112233445566778899aabbccddeeff", hmac="00" * 20)

protocol_bytes = st.integers(min_value=1, max_value=255).filter(lambda b: b != START)
keys = st.binary(min_size=16, max_size=16)
noise = st.binary(max_size=40).map(lambda data: data.replace(bytes([START]), b""))

# JSON biased towards the keys and values the decoders look at.
KEYS = [
    "seq",
    "session_id",
    "error_code",
    "error_message",
    "error_text",
    "area",
    "zone",
    "output",
    "network",
    "hello",
    "authenticate",
    "api_link",
    "get_status",
    "get_ssid",
    "set_status",
    "area_id",
    "zone_id",
    "status",
    "sk",
    "shm",
    "enc",
    "hmac",
    "block_id",
    "block_count",
    "zones",
    "areas",
    "prec",
    "temperature",
    "ready_status",
    "arm_state",
    "secure_state",
    "BYPASSED",
    "ELKWC2017",
    "MAC_ADDR",
    "LISTEN_PORT",
    "ENCRYPTED_LISTEN_PORT",
    "nonce",
    "pass",
    "cnonce",
    "sn",
    "mn",
]
json_keys = st.sampled_from(KEYS) | st.text(max_size=6)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.sampled_from([0, 1, -1, 11006, 11008, 2**31, 2**64])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["1", "-3", "²", "--5", " 7 ", "0" * 32, " " * 32, "ab" * 32, "RDY_AWAY"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=5)
    ),
    max_leaves=10,
)
json_objects = st.dictionaries(json_keys, json_values, max_size=5)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    pieces, previous = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[previous:point])
        previous = point
    return pieces


# --------------------------------------------------------------------------- round trips


@props(2_000)
@given(
    st.lists(
        st.tuples(protocol_bytes, st.binary(max_size=300), noise),
        min_size=1,
        max_size=6,
    ),
    noise,
    st.lists(st.integers(min_value=0, max_value=2_000), max_size=12),
)
def test_frames_round_trip_under_any_chunking(
    frames: list[tuple[int, bytes, bytes]], preamble: bytes, cuts: list[int]
) -> None:
    stream = preamble + b"".join(encode_frame(p, data) + gap for p, data, gap in frames)
    deframer = Deframer()
    events = [event for chunk in _split(stream, cuts) for event in deframer.feed(chunk)]
    events += deframer.flush_noise()
    got = [event for event in events if isinstance(event, Frame)]
    assert got == [Frame(p, data) for p, data, _ in frames]
    errors = [event for event in events if isinstance(event, FramingError)]
    # Only the noise is reported, and every noise byte is accounted for.
    assert sum(error.discarded for error in errors) == len(preamble) + sum(
        len(gap) for *_, gap in frames
    )


@props(500)
@given(
    keys,
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**32 - 1),
            st.integers(min_value=0, max_value=255),
            st.integers(min_value=0, max_value=255),
            st.integers(min_value=0, max_value=255),
            st.binary(max_size=400),
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.integers(min_value=0, max_value=2_000), max_size=8),
)
def test_envelopes_round_trip_through_frames(
    key: bytes, fields: list[tuple[int, int, int, int, bytes]], cuts: list[int]
) -> None:
    envelopes = [Envelope(*values) for values in fields]
    stream = b"".join(encode_envelope_frame(key, env) for env in envelopes)
    deframer = Deframer()
    frames = [e for chunk in _split(stream, cuts) for e in deframer.feed(chunk)]
    assert all(isinstance(frame, Frame) for frame in frames)
    assert [decode_envelope(key, f) for f in frames if isinstance(f, Frame)] == envelopes


# Strings full of JSON punctuation, escapes, non-ASCII and the frame start byte "~".
tricky_text = st.text(alphabet='{}[]"\\:,~aé☕ ', max_size=10)
cleartext_objects = st.dictionaries(
    st.sampled_from(KEYS[:12]),
    tricky_text
    | st.integers()
    | st.dictionaries(st.sampled_from(KEYS[:6]), tricky_text | st.none(), max_size=2),
    max_size=3,
)


@props(1_000)
@given(
    st.lists(cleartext_objects, min_size=1, max_size=5),
    st.lists(st.integers(0, 300), max_size=6),
)
def test_cleartext_objects_round_trip_under_any_chunking(
    objects: list[dict[str, Any]], cuts: list[int]
) -> None:
    stream = b"".join(dumps(obj) for obj in objects)
    reader = JsonObjectReader()
    got = [obj for chunk in _split(stream, cuts) for obj in reader.feed(chunk)]
    assert got == objects
    assert reader.take_remainder() == b""


# --------------------------------------------------------------------------- never raise

KEY = bytes(range(16))
# Fragments that assemble into frame-like and JSON-like byte strings far more often than
# uniform random bytes do, so the decoders get past their first checks.
FRAGMENTS = [
    b"\x7e",
    b"\x7e\x00",
    b"\x80\x07\x00",
    b"\x8f\x15\x00",
    b"\x00",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b'"',
    b"\\",
    b'"seq"',
    b'"session_id"',
    b'"error_code"',
    b'"error_message"',
    b'"area"',
    b'"zone"',
    b'"hello"',
    b'"authenticate"',
    b'"network"',
    b'"get_status"',
    b'"get_ssid"',
    b'"ELKWC2017"',
    b'"LISTEN_PORT"',
    b'"MAC_ADDR"',
    b'"AABBCC001122"',
    b"0",
    b"1",
    b"-1",
    b"11008",
    b"1.5",
    b"1e400",
    b"null",
    b"true",
    b'"x"',
    b'"\xc3\xa9"',
    b"\xff",
]
# One binary draw per example keeps hypothesis's own overhead low enough for 10,000 runs.
wire_like = st.binary(max_size=128) | st.binary(max_size=32).map(
    lambda picks: b"".join(FRAGMENTS[pick % len(FRAGMENTS)] for pick in picks)
)


@props(40_000)
@given(wire_like, st.integers(min_value=0, max_value=255), st.integers(min_value=0, max_value=200))
def test_byte_decoders_never_raise_beyond_their_typed_errors(
    data: bytes, protocol: int, cut: int
) -> None:
    """One input, every decoder that takes bytes: each sees all 10,000 examples."""
    deframer = Deframer()
    for chunk in (data[:cut], data[cut:], data):
        for event in deframer.feed(chunk):
            assert isinstance(event, Frame | FramingError)
    deframer.flush_noise()
    for ciphertext in (data, data[: len(data) // 16 * 16]):
        try:
            env = decode_envelope(KEY, Frame(protocol, ciphertext))
        except EnvelopeError:
            pass
        else:
            assert len(env.payload) + 9 + (protocol & 0x0F) == len(ciphertext)
    try:
        message = decode_message(data)
    except MalformedMessage:
        pass
    else:
        assert isinstance(message, Inbound)
        assert message.seq is None or message.seq >= 0
    try:
        request = parse_request(data)
    except MalformedMessage:
        pass
    else:
        assert request.seq > 0
    reader = JsonObjectReader(max_buffer=128)
    for chunk in (data[:cut], data[cut:]):
        assert all(isinstance(obj, dict) for obj in reader.feed(chunk))
    assert isinstance(reader.take_remainder(), bytes)
    announcement = parse_reply(data, "192.0.2.1")
    assert announcement is None or 1 <= announcement.port <= 65535


@props(8_000)
@given(wire_like, st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_deframer_events_do_not_depend_on_chunking(data: bytes, cuts: list[int]) -> None:
    """Same bytes, same events: whole, at random cuts, or one byte per read."""
    whole = Deframer()
    expected = whole.feed(data) + whole.flush_noise()
    for chunks in (_split(data, cuts), [data[i : i + 1] for i in range(len(data))]):
        deframer = Deframer()
        events = [event for chunk in chunks for event in deframer.feed(chunk)]
        assert events + deframer.flush_noise() == expected


MODEL_PARSERS: list[Callable[[dict[str, Any]], object]] = [
    paging.parse_table_info,
    models.parse_area_status,
    models.parse_zone_status,
    models.parse_output_status,
    models.parse_lock_status,
    models.parse_light_status,
    models.parse_barrier_status,
    models.parse_tstat_status,
    models.parse_version_info,
    models.parse_log_list,
    models.parse_log_index,
    lambda body: models.parse_attribs("zone", body),
    lambda body: paging.parse_page(body, "zones"),
    lambda body: paging.PagedTransfer("area", 32).add(body),
    lambda body: models.decode_zone_bulk(body.get("status")),
    lambda body: models.decode_output_bulk(body.get("status")),
]


@props(4_000)
@given(json_values)
def test_json_decoders_never_raise_beyond_their_typed_errors(value: Any) -> None:
    """Structured JSON into every decoder that takes parsed objects."""
    with contextlib.suppress(MalformedMessage):
        route_message(value)
    with contextlib.suppress(MalformedMessage):
        decode_message(dumps(value))
    with contextlib.suppress(MalformedMessage):
        parse_request(dumps(value))
    parse_reply(dumps(value), "192.0.2.1")
    if not isinstance(value, dict):
        return
    for reply in (value, {"hello": value}):
        outcome = classify_hello_reply(reply, LINK_KEYS)
        assert isinstance(
            outcome, HelloAccepted | HelloLinkRequired | HelloNoSession | HelloRejected
        )
        if isinstance(outcome, HelloAccepted):
            # A usable session: the keys the framed phase needs (protocol §7.1 step 5).
            assert len(outcome.session_key) == 16
            assert len(outcome.session_hmac) == 32
    for obj in (value, {"api_link": value}, {"hello": value}):
        parse_link_request(obj)
        parse_hello_request(obj)
        classify_link_reply([obj])
    for parser in MODEL_PARSERS:
        with contextlib.suppress(MalformedMessage):
            parser(value)


@props(10_000)
@given(json_scalars)
def test_scalar_helpers_never_raise(value: Any) -> None:
    number = models.as_int(value)
    assert number is None or isinstance(number, int)
    models.as_bool(value)
    models.scale_value(value, [value, value], 1)
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            models.encode_setpoint(value)
