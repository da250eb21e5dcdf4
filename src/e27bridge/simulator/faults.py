"""Run-time fault state: what the server should do wrong right now, and the dice it rolls.

The scenario's fault configuration seeds it; the control channel and tests change it while
the simulator runs. Every decision draws from the simulator's seeded ``random.Random`` so a
run with ``--seed`` is reproducible for a given request order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Any, Literal

from e27bridge.protocol.envelope import Envelope, encode_envelope
from e27bridge.protocol.errors import PanelErrorCode
from e27bridge.protocol.framing import encode_frame
from e27bridge.simulator.config import FaultConfig

HelloRefusal = Literal["none", "no_session", "rejected"]
HELLO_REFUSALS: tuple[str, ...] = ("none", "no_session", "rejected")

# The split writes are separated by this pause so the client really sees separate segments.
SPLIT_PAUSE = 0.002


class FaultError(ValueError):
    """A fault setting with a bad name or value (reported to the control channel)."""


@dataclass(slots=True)
class FaultState:
    """Mutable on purpose: the control channel flips these while sessions run."""

    response_delay: float = 0.0  # seconds before every reply
    jitter: float = 0.0  # plus uniform 0..jitter seconds
    drop_reply_probability: float = 0.0  # request executed, reply never sent
    late_reply_probability: float = 0.0  # request executed, reply sent after late_reply_delay
    late_reply_delay: float = 0.0
    close_after_requests: int = 0  # per connection; 0 = never
    close_probability: float = 0.0  # per request: close the connection instead of answering
    split_frames: bool = False  # write every outbound frame in random pieces
    garbage_between_frames: float = 0.0  # probability per frame of noise bytes before it
    bad_crc_probability: float = 0.0  # per frame: a corrupt frame before it
    split_banner: bool = False  # the connect banner's two objects as two writes
    hello_refusal: HelloRefusal = "none"
    hello_refusal_code: int = int(PanelErrorCode.IN_USE)
    link_revoked: bool = False  # every HELLO answers 11006 invalid_id while set
    link_table_full: bool = False  # every correct api_link answers 11005 "Not enough space"

    @classmethod
    def from_config(cls, config: FaultConfig) -> FaultState:
        state = cls()
        for f in fields(config):
            state.set(f.name, getattr(config, f.name))
        return state

    def set(self, name: str, value: Any) -> None:
        """Validated assignment by name (control channel, scenario)."""
        names = {f.name for f in fields(self)}
        if name not in names:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(sorted(names))}")
        setattr(self, name, _checked(name, getattr(self, name), value))

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.set(name, value)

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # -- decisions -------------------------------------------------------------------------

    def reply_delay(self, rng: random.Random) -> float:
        delay = self.response_delay
        if self.jitter:
            delay += rng.uniform(0.0, self.jitter)
        return delay

    @staticmethod
    def roll(rng: random.Random, probability: float) -> bool:
        return probability > 0 and rng.random() < probability

    @property
    def disturbs_writes(self) -> bool:
        return self.split_frames or self.garbage_between_frames > 0 or self.bad_crc_probability > 0


def _checked(name: str, current: Any, value: Any) -> Any:
    """``value`` if it fits the fault's type (that of its ``current`` value), else FaultError."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise FaultError(f"{name} must be true or false")
    elif isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultError(f"{name} must be a non-negative integer")
    elif isinstance(current, float):
        return _fraction_or_seconds(name, value)
    elif name == "hello_refusal" and value not in HELLO_REFUSALS:
        raise FaultError(f"hello_refusal must be one of {', '.join(HELLO_REFUSALS)}")
    return value


def _fraction_or_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultError(f"{name} must be a non-negative number")
    if (name.endswith("probability") or name == "garbage_between_frames") and value > 1:
        raise FaultError(f"{name} must be between 0 and 1")
    return float(value)


def split_points(data: bytes, rng: random.Random) -> list[bytes]:
    """Cut ``data`` at 1-3 random byte boundaries (all pieces non-empty)."""
    if len(data) < 2:
        return [data]
    cuts = sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(1, 3))))
    pieces, start = [], 0
    for cut in [*cuts, len(data)]:
        pieces.append(data[start:cut])
        start = cut
    return pieces


def garbage(rng: random.Random) -> bytes:
    """Noise that is not a frame start (no 0x7E), as a client would see on a dirty line."""
    return bytes(
        rng.choice([b for b in range(256) if b != 0x7E]) for _ in range(rng.randint(1, 24))
    )


def bad_crc_frame(key: bytes) -> bytes:
    """A well-formed frame whose CRC is wrong; a client must skip it and keep going."""
    protocol, ciphertext = encode_envelope(key, Envelope(0, 0, 1, 0, b'{"seq":0}'))
    frame = bytearray(encode_frame(protocol, ciphertext))
    # Flip a data byte that is not escaped so the length stays right and the CRC fails.
    for index in range(4, len(frame) - 2):
        if frame[index] not in (0x7E, 0x7F) and frame[index - 1] != 0x7E:
            frame[index] ^= 0x01
            break
    return bytes(frame)
