"""The ideal client: the protocol core alone on direct sessions, one request in flight.

It is what any bridge could at best achieve on the same panel: send, wait for the reply,
send the next, never closer than ``floor`` seconds to the previous send (the same pacing
floor the bridge is given). A plain ``asyncio.Protocol`` so it costs as little CPU as
possible. With several sessions it measures the simulator's own capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, cast

from bench.rig import CpuMeter, PanelInfo, ms, percentile, simhost
from bench.simhost import ACCESS_CODE, PASSPHRASE
from e27bridge.protocol.cleartext import JsonObjectReader
from e27bridge.protocol.discovery import banner_nonce
from e27bridge.protocol.envelope import (
    Envelope,
    EnvelopeCounter,
    decode_envelope,
    encode_envelope_frame,
)
from e27bridge.protocol.framing import Deframer, Frame
from e27bridge.protocol.hello import HelloAccepted, build_hello_request, classify_hello_reply
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import LinkReplyReader, build_link_request, derive_link_proof
from e27bridge.protocol.messages import encode_request
from e27bridge.protocol.requests import RequestSpec, set_output


async def link(panel: PanelInfo, identity: ClientIdentity) -> LinkKeys:
    """``api_link`` with the bench credentials, using the protocol core only."""
    reader, writer = await asyncio.open_connection(panel.host, panel.port)
    try:
        objects = JsonObjectReader()
        nonce = None
        while nonce is None:
            for obj in objects.feed(await reader.read(4096)):
                nonce = nonce or banner_nonce(obj)
        cnonce = secrets.token_hex(20)
        proof = derive_link_proof(
            access_code=ACCESS_CODE, passphrase=PASSPHRASE,
            identity=identity, nonce=nonce, cnonce=cnonce,
        )  # fmt: skip
        writer.write(build_link_request(identity, proof, cnonce))
        replies = LinkReplyReader(proof)
        outcome = replies.feed(objects.take_remainder())
        while outcome is None:
            outcome = replies.feed(await reader.read(4096))
    finally:
        writer.close()
    assert isinstance(outcome, LinkKeys), outcome
    return outcome


def toggling_output(seq: int) -> RequestSpec:
    """The bench's command: output 1 on, off, on, ... (one write each)."""
    return set_output(1, seq % 2 == 1)


@dataclass
class _Session(asyncio.Protocol):
    identity: ClientIdentity
    keys: LinkKeys
    stop_at: float
    floor: float
    request: Any = toggling_output
    transport: asyncio.Transport | None = None
    objects: JsonObjectReader | None = field(default_factory=JsonObjectReader)
    deframer: Deframer = field(default_factory=Deframer)
    counter: EnvelopeCounter = field(default_factory=EnvelopeCounter)
    key: bytes = b""
    session_id: int = 0
    seq: int = 0
    sent_at: float = 0.0
    latencies: list[float] = field(default_factory=list)
    finished: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(build_hello_request(self.identity))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_exception(ConnectionError("the panel closed the session"))

    def data_received(self, data: bytes) -> None:
        if self.objects is not None:
            reply = next((o for o in self.objects.feed(data) if "hello" in o), None)
            if reply is None:
                return
            outcome = classify_hello_reply(reply, self.keys)
            assert isinstance(outcome, HelloAccepted), outcome
            self.key, self.session_id = outcome.session_key, outcome.session_id
            data, self.objects = self.objects.take_remainder(), None
            self._send_next()
        for event in self.deframer.feed(data):
            if isinstance(event, Frame):
                message = json.loads(decode_envelope(self.key, event).payload)
                if message.get("seq") == self.seq:
                    self.latencies.append(time.monotonic() - self.sent_at)
                    self._paced_next()

    def _paced_next(self) -> None:
        wait = self.sent_at + self.floor - time.monotonic()
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self._send_next)
        else:
            self._send_next()

    def _send_next(self) -> None:
        assert self.transport is not None
        if time.monotonic() >= self.stop_at:
            self.transport.close()
            if not self.finished.done():
                self.finished.set_result(None)
            return
        self.seq += 1
        spec: RequestSpec = self.request(self.seq)
        payload = encode_request(self.seq, self.session_id, spec.domain, spec.command, spec.args)
        envelope = Envelope(self.counter.next(), 1, 0, 0, payload)
        self.sent_at = time.monotonic()
        self.transport.write(encode_envelope_frame(self.key, envelope))


@dataclass(frozen=True)
class IdealResult:
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": round(self.rate, 1),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
        }


async def run(
    panel: PanelInfo,
    keys: list[tuple[ClientIdentity, LinkKeys]],
    seconds: float,
    floor: float,
    request: Any = toggling_output,
) -> IdealResult:
    """One session per entry of ``keys``, each single-in-flight, for ``seconds``."""
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    stop_at = start + seconds
    sessions: list[_Session] = []
    for identity, link_keys in keys:
        _, protocol = await loop.create_connection(
            lambda i=identity, k=link_keys: _Session(i, k, stop_at, floor, request),  # type: ignore[misc]
            panel.host,
            panel.port,
        )
        sessions.append(protocol)
    for session in sessions:
        with contextlib.suppress(ConnectionError):
            await session.finished
    elapsed = time.monotonic() - start
    latencies = [x for s in sessions for x in s.latencies]
    return IdealResult(
        len(latencies) / elapsed,
        ms(percentile(latencies, 50)),
        ms(percentile(latencies, 99)),
        len(latencies),
    )


async def linked(
    panel: PanelInfo, count: int, prefix: str = "IDEAL"
) -> list[tuple[ClientIdentity, LinkKeys]]:
    identities = [ClientIdentity(sn=f"{prefix}{i:07d}"[:12]) for i in range(count)]
    return [(i, await link(panel, i)) for i in identities]


async def capacity(workdir: object, quick: bool) -> list[dict[str, Any]]:
    """The simulator's own capacity: 8 single-in-flight sessions, no floor, no delay."""
    del workdir
    async with simhost("small") as sims:
        panel = sims.panels[0]
        keys = await linked(panel, 8, prefix="CAP")
        meter = CpuMeter(sims.proc.pid).start()
        result = await run(panel, keys, 1.0 if quick else 4.0, 0.0)
        cpu, share = meter.stop()
        stats = await sims.stats()
    return [
        {
            "sessions": len(keys),
            **result.as_dict(),
            "simulator_cpu_share": round(share, 3),
            "simulator_us_per_request": round(cpu * 1e6 / max(result.requests, 1), 1),
            "in_flight_violations": stats["in_flight_violations"],
            "max_outstanding": stats["max_outstanding"],
        }
    ]
