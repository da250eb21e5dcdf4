"""Schema-0 envelope: seq, src, dest, head, JSON payload, MAGIC, zero padding (protocol §5)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from e27bridge.protocol.crypto import schema0_decrypt, schema0_encrypt
from e27bridge.protocol.errors import EnvelopeError
from e27bridge.protocol.framing import Frame, encode_frame

MAGIC = 0x422A
ENCRYPTED_FLAG = 0x80
SEQ_MAX = 2147483647
CLIENT_ADDRESS = 1
PANEL_ADDRESS = 0


def padding_for(payload_length: int) -> int:
    return (16 - (9 + payload_length) % 16) % 16


@dataclass(frozen=True, slots=True)
class Envelope:
    seq: int
    src: int
    dest: int
    head: int
    payload: bytes

    def __repr__(self) -> str:  # payloads may carry PINs
        return (
            f"Envelope(seq={self.seq}, src={self.src}, dest={self.dest}, "
            f"head={self.head}, payload=<{len(self.payload)} bytes>)"
        )


def encode_envelope(key: bytes, envelope: Envelope) -> tuple[int, bytes]:
    """Return ``(protocol byte, ciphertext)`` for one envelope."""
    pad = padding_for(len(envelope.payload))
    plain = (
        struct.pack("<IBBB", envelope.seq, envelope.src, envelope.dest, envelope.head)
        + envelope.payload
        + struct.pack("<H", MAGIC)
        + bytes(pad)
    )
    return ENCRYPTED_FLAG | pad, schema0_encrypt(key, plain)


def encode_envelope_frame(key: bytes, envelope: Envelope) -> bytes:
    protocol, ciphertext = encode_envelope(key, envelope)
    return encode_frame(protocol, ciphertext)


def decode_envelope(key: bytes, frame: Frame) -> Envelope:
    """Decrypt and validate one frame; raises ``EnvelopeError`` (a wrong key shows as MAGIC)."""
    if not frame.encrypted:
        raise EnvelopeError(f"frame protocol byte {frame.protocol:#04x} is not schema-0")
    if not frame.data or len(frame.data) % 16:
        raise EnvelopeError(f"ciphertext length {len(frame.data)} is not a multiple of 16")
    plain = schema0_decrypt(key, frame.data)
    magic_at = len(plain) - frame.padding - 2
    if magic_at < 7:
        raise EnvelopeError("envelope too short for its padding")
    (magic,) = struct.unpack_from("<H", plain, magic_at)
    if magic != MAGIC:
        raise EnvelopeError("MAGIC mismatch (wrong key or corrupt frame)")
    seq, src, dest, head = struct.unpack_from("<IBBB", plain)
    return Envelope(seq, src, dest, head, plain[7:magic_at])


class EnvelopeCounter:
    """Outbound envelope seq: 1 after HELLO, +1 per frame, wraps from 2^31-1 back to 1."""

    def __init__(self, start: int = 1) -> None:
        if not 1 <= start <= SEQ_MAX:
            raise ValueError("envelope seq must be in 1..2^31-1")
        self._next = start

    def next(self) -> int:
        value = self._next
        self._next = 1 if value >= SEQ_MAX else value + 1
        return value
