"""Requests per second the simulator answers on loopback with no injected delay.

Starts ``e27bridge simulate`` as a subprocess (so it has a core of its own), links, then runs
several sessions that each keep exactly one request in flight (send, wait for the reply,
send the next), the way the vendor asks clients to behave. Prints the aggregate rate.

    .venv/bin/python bench/bench_simulator.py [--sessions 8] [--seconds 5] [--profile small]

Target (issue 3): >= 5,000 req/s on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

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
from e27bridge.protocol.linking import (
    LinkReplyReader,
    build_link_request,
    derive_link_proof,
)
from e27bridge.protocol.messages import encode_request

# A realistic mix of what a bridge polls: cheap status reads plus keepalives.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("zone", "get_status", {"zone_id": 1}),
    ("area", "get_status", {"area_id": 1}),
    ("system", "r_u_alive", {}),
    ("output", "get_status", {"output_id": 1}),
]


async def start_simulator(
    profile: str, sessions: int, workdir: Path
) -> tuple[asyncio.subprocess.Process, dict[str, str], Path]:
    scenario = workdir / "bench.toml"
    scenario.write_text(f'profile = "{profile}"\n[credentials]\nlink_slots = {max(sessions, 1)}\n')
    stats_file = workdir / "stats.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "e27bridge", "simulate", "--scenario", str(scenario),
        "--port", "0", "--discovery-port", "0", "--no-activity", "--seed", "1",
        "--stats-file", str(stats_file),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    words = shlex.split(line.split(" listening ", 1)[1])
    return process, dict(word.split("=", 1) for word in words), stats_file


async def link(host: str, port: int, identity: ClientIdentity, fields: dict[str, str]) -> LinkKeys:
    reader, writer = await asyncio.open_connection(host, port)
    objects = JsonObjectReader()
    nonce = None
    while nonce is None:
        for obj in objects.feed(await reader.read(4096)):
            nonce = nonce or banner_nonce(obj)
    cnonce = secrets.token_hex(20)
    proof = derive_link_proof(
        access_code=fields["access_code"], passphrase=fields["passphrase"],
        identity=identity, nonce=nonce, cnonce=cnonce,
    )  # fmt: skip
    writer.write(build_link_request(identity, proof, cnonce))
    replies = LinkReplyReader(proof)
    outcome = replies.feed(objects.take_remainder())
    while outcome is None:
        outcome = replies.feed(await reader.read(4096))
    writer.close()
    assert isinstance(outcome, LinkKeys), outcome
    return outcome


class _Session(asyncio.Protocol):
    """One single-in-flight session: HELLO, then send, wait for the reply, send the next.

    A plain protocol so the client costs as little CPU as possible next to the simulator.
    """

    def __init__(self, identity: ClientIdentity, keys: LinkKeys, stop_at: float) -> None:
        self.identity, self.keys, self.stop_at = identity, keys, stop_at
        self.transport: asyncio.Transport | None = None
        self.objects: JsonObjectReader | None = JsonObjectReader()
        self.deframer, self.counter = Deframer(), EnvelopeCounter()
        self.key = b""
        self.session_id = 0
        self.seq = 0
        self.done = 0
        self.finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(build_hello_request(self.identity))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_exception(ConnectionError("simulator closed the session"))

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
                    self.done += 1
                    self._send_next()

    def _send_next(self) -> None:
        assert self.transport is not None
        if time.monotonic() >= self.stop_at:
            self.transport.close()
            if not self.finished.done():
                self.finished.set_result(self.done)
            return
        self.seq += 1
        domain, command, args = REQUESTS[self.seq % len(REQUESTS)]
        payload = encode_request(self.seq, self.session_id, domain, command, args)
        envelope = Envelope(self.counter.next(), 1, 0, 0, payload)
        self.transport.write(encode_envelope_frame(self.key, envelope))


async def session(
    host: str, port: int, identity: ClientIdentity, keys: LinkKeys, stop_at: float
) -> int:
    """Run one session until ``stop_at``; returns the number of replies received."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: _Session(identity, keys, stop_at), host, port
    )
    return await protocol.finished


def _cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", default="small", choices=("small", "large", "max"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process, fields, stats_file = await start_simulator(args.profile, args.sessions, Path(tmp))
        try:
            host, port_text = fields["tcp"].rsplit(":", 1)
            port = int(port_text)
            identities = [ClientIdentity(sn=f"BENCH{i:07d}") for i in range(args.sessions)]
            keys = [await link(host, port, identity, fields) for identity in identities]
            cpu_before = _cpu_seconds(process.pid)
            client_before = time.process_time()
            start = time.monotonic()
            stop_at = start + args.seconds
            counts = await asyncio.gather(
                *(session(host, port, i, k, stop_at) for i, k in zip(identities, keys, strict=True))
            )
            elapsed = time.monotonic() - start
            cpu_after = _cpu_seconds(process.pid)
            client_cpu = time.process_time() - client_before
            cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
        stats = json.loads(stats_file.read_text())
    total = sum(counts)
    rate = total / elapsed
    print(
        f"simulator: {rate:,.0f} requests/s ({total} requests, {args.sessions} sessions "
        f"single-in-flight, {elapsed:.1f} s, profile {args.profile}); "
        f"in_flight_violations={stats['in_flight_violations']}, "
        f"max_outstanding={stats['max_outstanding']}"
    )
    if cpu is not None:
        print(
            f"simulator CPU: {cpu * 1e6 / total:.0f} us per request "
            f"-> {total / cpu:,.0f} requests/s per fully used core "
            f"(bench client: {client_cpu * 1e6 / total:.0f} us per request)"
        )
    return 0


if __name__ == "__main__":
    from e27bridge.daemon.eventloop import run

    sys.exit(run(main()))
