"""The deframer gives the same events whatever the chunking (bulk copy vs byte by byte)."""

from __future__ import annotations

import random

from e27bridge.protocol.framing import Deframer, encode_frame


def _stream(rng: random.Random) -> bytes:
    parts = []
    for _ in range(40):
        kind = rng.random()
        if kind < 0.6:
            data = bytes(
                rng.choice([0x7E, 0x00, 0x41, rng.randrange(256)])
                for _ in range(rng.randrange(0, 60))
            )
            parts.append(encode_frame(0x80 | rng.randrange(16), data))
        elif kind < 0.8:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20))))
        else:
            frame = bytearray(encode_frame(0x81, bytes(rng.randrange(256) for _ in range(20))))
            frame[rng.randrange(1, len(frame))] ^= 0x10
            parts.append(bytes(frame))
    return b"".join(parts)


def test_events_do_not_depend_on_chunk_boundaries() -> None:
    rng = random.Random(2026)
    for _ in range(30):
        stream = _stream(rng)
        whole = Deframer().feed(stream)
        bytewise: list[object] = []
        deframer = Deframer()
        for index in range(len(stream)):
            bytewise += deframer.feed(stream[index : index + 1])
        pieces: list[object] = []
        deframer, index = Deframer(), 0
        while index < len(stream):
            step = rng.randrange(1, 50)
            pieces += deframer.feed(stream[index : index + step])
            index += step
        assert whole == pieces == bytewise
