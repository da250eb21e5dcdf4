"""Frame encoder limits and schema-0 envelope validation (protocol §4, §5.5)."""

from __future__ import annotations

import pytest

from e27bridge.protocol.crypto import schema0_encrypt, swap32
from e27bridge.protocol.envelope import (
    SEQ_MAX,
    Envelope,
    EnvelopeCounter,
    decode_envelope,
    encode_envelope,
)
from e27bridge.protocol.errors import EnvelopeError
from e27bridge.protocol.framing import (
    MAX_LENGTH,
    Deframer,
    Frame,
    FramingError,
    FramingErrorKind,
    encode_frame,
)

KEY = bytes(range(16))


@pytest.mark.parametrize("protocol", [0, 0x7E, 0x100, -1])
def test_invalid_protocol_bytes_are_refused(protocol: int) -> None:
    with pytest.raises(ValueError):
        encode_frame(protocol, b"")


def test_frame_length_limit() -> None:
    assert len(encode_frame(0x80, bytes(MAX_LENGTH - 5))) >= MAX_LENGTH + 1
    with pytest.raises(ValueError):
        encode_frame(0x80, bytes(MAX_LENGTH - 4))


def test_frame_at_the_limit_is_received_and_one_beyond_is_not() -> None:
    data = bytes(MAX_LENGTH - 5)
    assert Deframer().feed(encode_frame(0x80, data)) == [Frame(0x80, data)]
    small = Deframer(max_length=100)
    events = small.feed(encode_frame(0x80, bytes(96)))
    assert events[0] == FramingError(FramingErrorKind.BAD_LENGTH, 3)


def test_frame_flags() -> None:
    assert Frame(0x8F, b"").encrypted
    assert Frame(0x8F, b"").padding == 15
    assert not Frame(0x0F, b"").encrypted


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (Frame(0x0E, bytes(16)), "schema-0"),
        (Frame(0x80, b""), "multiple of 16"),
        (Frame(0x80, bytes(17)), "multiple of 16"),
        (Frame(0x8F, bytes(16)), "too short"),
    ],
)
def test_envelope_refusals(frame: Frame, match: str) -> None:
    with pytest.raises(EnvelopeError, match=match):
        decode_envelope(KEY, frame)


def test_padding_that_points_past_the_magic_is_refused() -> None:
    protocol, ciphertext = encode_envelope(KEY, Envelope(1, 1, 0, 0, b"{}"))
    with pytest.raises(EnvelopeError, match="MAGIC"):
        decode_envelope(KEY, Frame(protocol ^ 0x01, ciphertext))


def test_envelope_with_the_minimum_size() -> None:
    # 7 header bytes + MAGIC + 7 padding = 16: an empty payload.
    env = Envelope(SEQ_MAX, 0, 1, 0, b"")
    protocol, ciphertext = encode_envelope(KEY, env)
    assert (protocol, len(ciphertext)) == (0x87, 16)
    assert decode_envelope(KEY, Frame(protocol, ciphertext)) == env


def test_envelope_repr_hides_the_payload() -> None:
    env = Envelope(1, 1, 0, 0, b'{"pin":4321}')
    assert "4321" not in repr(env)
    assert "12 bytes" in repr(env)


def test_envelope_counter_restarts_per_instance() -> None:
    first, second = EnvelopeCounter(), EnvelopeCounter()
    assert [first.next() for _ in range(3)] == [1, 2, 3]
    assert second.next() == 1


def test_swap32_needs_whole_words() -> None:
    with pytest.raises(ValueError):
        swap32(b"abc")
    assert swap32(b"") == b""
    assert schema0_encrypt(KEY, bytes(16)) != bytes(16)
