"""Helpers for the simulator's server tests: a minimal real-TCP client and a stand-in panel.

``MiniClient`` speaks the wire protocol through the protocol core's phase machine (banner,
api_link, hello, framed requests), so server tests exercise real sockets and real AES. ``EchoPanel``
is a tiny stand-in for ``SimulatedPanel`` that keeps server tests independent of panel
behaviour; tests that need real behaviour use the runner with the real panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from e27bridge.protocol.hello import HelloAccepted, HelloOutcome
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import LinkOutcome
from e27bridge.protocol.messages import PanelRequest, SeqAllocator, encode_request
from e27bridge.protocol.phases import (
    Connection,
    Dropped,
    Event,
    FramingProblem,
    HelloReplied,
    LinkReplied,
    Received,
    Role,
    Unrecognised,
)
from e27bridge.simulator.faults import FaultState
from e27bridge.simulator.server import PanelServer, ServerSettings

ACCESS_CODE = "12345678"
PASSPHRASE = "test passphrase"
TIMEOUT = 3.0


class MiniClient:
    """One TCP connection to the simulator, driven step by step by a test through the
    protocol core's phase machine (``phases.Connection``, client role)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.wire = Connection(Role.CLIENT)
        self.pending_objects: list[dict[str, Any]] = []  # cleartext that was not the banner
        self.key: bytes | None = None
        self.session_id: int | None = None
        self.seqs = SeqAllocator()
        self.inbox: list[dict[str, Any]] = []
        self.seen: list[dict[str, Any]] = []
        self.envelope_seqs: list[int] = []  # messages skipped while waiting for a reply
        self.framing_errors: list[Any] = []
        self.chunks: list[bytes] = []

    @classmethod
    async def open(cls, host: str, port: int) -> MiniClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
        return cls(reader, writer)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def read_chunk(self, timeout: float) -> bytes:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        if not data:
            raise ConnectionResetError("server closed")
        self.chunks.append(data)
        return data

    async def closed_by_server(self, timeout: float = TIMEOUT) -> bool:
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
                if not data:
                    return True
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    async def receive(self, timeout: float = TIMEOUT) -> list[Event]:
        """Read once; cleartext objects and frames are kept, the rest is returned."""
        rest: list[Event] = []
        for event in self.wire.receive(await self.read_chunk(timeout)):
            if isinstance(event, Unrecognised):
                self.pending_objects.append(event.obj)
            elif isinstance(event, Received):
                self.envelope_seqs.append(event.envelope.seq)
                self.inbox.append(json.loads(event.envelope.payload))
            elif isinstance(event, FramingProblem):
                self.framing_errors.append(event.error)
            elif isinstance(event, Dropped):
                raise event.error
            else:
                rest.append(event)
        return rest

    # -- cleartext phase -----------------------------------------------------------------

    async def read_banner(self) -> str:
        while self.wire.nonce is None:
            await self.receive()
        return self.wire.nonce

    async def link(
        self,
        identity: ClientIdentity,
        access_code: str = ACCESS_CODE,
        passphrase: str = PASSPHRASE,
        timeout: float = TIMEOUT,
    ) -> LinkOutcome | None:
        """``None`` when the panel stays silent (wrong credentials)."""
        await self.read_banner()
        self.writer.write(
            self.wire.start_link(
                identity,
                access_code=access_code,
                passphrase=passphrase,
                cnonce=secrets.token_hex(20),
            )
        )
        try:
            while True:
                for event in await self.receive(timeout):
                    if isinstance(event, LinkReplied):
                        return event.outcome
        except TimeoutError:
            return None

    async def hello(self, identity: ClientIdentity, keys: LinkKeys) -> HelloOutcome:
        self.writer.write(self.wire.start_hello(identity, keys))
        while True:
            for event in await self.receive():
                if not isinstance(event, HelloReplied):
                    continue
                if isinstance(event.outcome, HelloAccepted):
                    self.key = self.wire.session_key
                    self.session_id = event.outcome.session_id
                return event.outcome

    # -- framed phase --------------------------------------------------------------------

    def send_payload(self, payload: bytes) -> None:
        self.writer.write(self.wire.send(payload))

    def send(self, domain: str, command: str | None, args: Any = None) -> int:
        seq = self.seqs.next()
        self.send_payload(
            encode_request(seq, self.session_id, domain, command, {} if args is None else args)
        )
        return seq

    async def next_message(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        while not self.inbox:
            await self.receive(timeout)
        return self.inbox.pop(0)

    async def wait_reply(self, seq: int, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The message with ``seq`` (root or nested); other messages stay in ``seen``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.next_message(max(0.01, deadline - loop.time()))
            if reply_seq(message) == seq:
                return message
            self.seen.append(message)

    async def request(
        self, domain: str, command: str | None, args: Any = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        return await self.wait_reply(self.send(domain, command, args), timeout)


def reply_seq(message: dict[str, Any]) -> int | None:
    if "seq" in message:
        return int(message["seq"])
    for value in message.values():
        if isinstance(value, dict) and "seq" in value:
            return int(value["seq"])
    return None


@dataclass
class EchoPanel:
    """Stand-in panel: every request answers ``error_code 0``; ``set_zone`` broadcasts."""

    handled: list[PanelRequest] = field(default_factory=list)
    broadcasts: list[dict[str, Any]] = field(default_factory=list)
    deadline: float | None = None
    advanced: list[float] = field(default_factory=list)

    def handle(self, request: PanelRequest, auth: Any, now: float) -> dict[str, Any]:
        self.handled.append(request)
        if request.domain == "test" and request.command == "broadcast":
            self.broadcasts.append({"seq": 0, "test": {"ping": {"error_code": 0}}})
        if request.domain == "test" and request.command == "timer":
            self.deadline = now + float(request.params.get("after", 0.05))
        return {"seq": request.seq, request.domain: {request.command: {"error_code": 0}}}

    def advance(self, now: float) -> None:
        self.advanced.append(now)
        if self.deadline is not None and now >= self.deadline:
            self.deadline = None
            self.broadcasts.append({"seq": 0, "test": {"timer": {"error_code": 0}}})

    def next_deadline(self) -> float | None:
        return self.deadline

    def take_broadcasts(self) -> list[dict[str, Any]]:
        out, self.broadcasts = self.broadcasts, []
        return out

    def domain_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.handled:
            counts[request.domain] = counts.get(request.domain, 0) + 1
        return counts


@dataclass
class ServerHarness:
    server: PanelServer
    panel: EchoPanel

    @property
    def port(self) -> int:
        return self.server.port

    async def client(self) -> MiniClient:
        return await MiniClient.open("127.0.0.1", self.server.port)

    async def linked(self, sn: str = "001122334455") -> tuple[ClientIdentity, LinkKeys]:
        identity = ClientIdentity(sn=sn)
        keys = LinkKeys(enc=secrets.token_hex(16), hmac=secrets.token_hex(20))
        assert self.server.links.add(sn, keys)
        return identity, keys

    async def session(self, sn: str = "001122334455") -> MiniClient:
        identity, keys = await self.linked(sn)
        client = await self.client()
        outcome = await client.hello(identity, keys)
        assert isinstance(outcome, HelloAccepted), outcome
        return client


def make_server(**settings: Any) -> tuple[PanelServer, EchoPanel]:
    panel = EchoPanel()
    values: dict[str, Any] = {"access_code": ACCESS_CODE, "passphrase": PASSPHRASE}
    values.update(settings)
    server = PanelServer(panel, ServerSettings(**values), faults=FaultState(), rng=random.Random(7))
    return server, panel


@pytest.fixture
async def harness() -> AsyncIterator[ServerHarness]:
    server, panel = make_server()
    await server.start()
    try:
        yield ServerHarness(server, panel)
    finally:
        await server.close()


async def wait_for(predicate: Any, timeout: float = TIMEOUT) -> None:
    """Poll a condition on the event loop (for counters updated by server tasks)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
