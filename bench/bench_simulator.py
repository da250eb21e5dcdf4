"""Requests per second the simulator answers on loopback with no injected delay.

Starts ``e27bridge simulate`` as a subprocess (so it has a core of its own), links, then runs
several sessions that each keep exactly one request in flight (send, wait for the reply,
send the next), the way the vendor asks clients to behave. Prints the aggregate rate.

    .venv/bin/python bench/bench_simulator.py [--sessions 4] [--seconds 5] [--profile small]

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
from typing import Any

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
    profile: str, stats_file: Path
) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "e27bridge", "simulate", "--profile", profile,
        "--port", "0", "--discovery-port", "0", "--no-activity", "--seed", "1",
        "--stats-file", str(stats_file),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    words = shlex.split(line.split(" listening ", 1)[1])
    return process, dict(word.split("=", 1) for word in words)


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


async def session(
    host: str, port: int, identity: ClientIdentity, keys: LinkKeys, stop_at: float
) -> int:
    """One single-in-flight session; returns the number of replies received."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(build_hello_request(identity))
    objects = JsonObjectReader()
    reply = None
    while reply is None:
        reply = next((o for o in objects.feed(await reader.read(4096)) if "hello" in o), None)
    outcome = classify_hello_reply(reply, keys)
    assert isinstance(outcome, HelloAccepted), outcome
    key, session_id = outcome.session_key, outcome.session_id
    deframer, counter = Deframer(), EnvelopeCounter()
    pending = objects.take_remainder()
    done, seq = 0, 0
    while time.monotonic() < stop_at:
        seq += 1
        domain, command, args = REQUESTS[seq % len(REQUESTS)]
        payload = encode_request(seq, session_id, domain, command, args)
        writer.write(encode_envelope_frame(key, Envelope(counter.next(), 1, 0, 0, payload)))
        answered = False
        while not answered:
            data, pending = pending or await reader.read(65536), b""
            if not data:
                raise ConnectionError("simulator closed the session")
            for event in deframer.feed(data):
                if isinstance(event, Frame):
                    message = json.loads(decode_envelope(key, event).payload)
                    answered = answered or message.get("seq") == seq
        done += 1
    writer.close()
    return done


def _cpu_seconds(pid: int) -> float | None:
    """User+system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    if os.environ.get("BENCH_DEBUG"):
        print("utime", int(fields[11]) / ticks, "stime", int(fields[12]) / ticks)
    return (int(fields[11]) + int(fields[12])) / ticks


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", default="small", choices=("small", "large", "max"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = Path(tmp) / "stats.json"
        process, fields = await start_simulator(args.profile, stats_file)
        try:
            host, port_text = fields["tcp"].rsplit(":", 1)
            port = int(port_text)
            identities = [ClientIdentity(sn=f"BENCH{i:07d}") for i in range(args.sessions)]
            keys = [await link(host, port, identity, fields) for identity in identities]
            cpu_before = _cpu_seconds(process.pid)
            start = time.monotonic()
            stop_at = start + args.seconds
            counts = await asyncio.gather(
                *(session(host, port, i, k, stop_at) for i, k in zip(identities, keys, strict=True))
            )
            elapsed = time.monotonic() - start
            cpu_after = _cpu_seconds(process.pid)
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
            f"-> {total / cpu:,.0f} requests/s per fully used core"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
