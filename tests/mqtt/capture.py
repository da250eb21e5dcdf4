"""Capture helpers: the retained topic tree, live messages, normalised for golden files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

# Values that change from run to run, replaced before comparing with a golden file.
_VOLATILE_KEYS = {"version", "sw_version", "timestamp", "uptime", "rtt", "rtt_ms"}
_VOLATILE_TOPICS = (
    re.compile(r"/system/rtt$"),
    re.compile(r"/system/reconnects$"),
    re.compile(r"/system/last-error$"),
    re.compile(r"/system/queue-depth$"),
)


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: Any = None

    def json(self) -> Any:
        return json.loads(self.payload)


async def retained_tree(
    port: int, topic_filter: str = "#", qos: int = 1, timeout: float = 30.0
) -> dict[str, bytes]:
    """Every retained message under ``topic_filter``: the broker's retained state when we
    subscribed.

    The broker queues a new subscription's retained messages before anything published
    after it, so a marker we then publish to ourselves ends the burst: no quiet period to
    guess, which a loaded machine would overrun. ``qos=0`` for trees of more than 1000
    topics: mosquitto drops QoS 1 messages queued past ``max_queued_messages`` (1000) for
    one client.
    """
    marker = f"e27-test/retained-end/{uuid.uuid4().hex}"
    tree: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", port, identifier=None) as client:
        await client.subscribe(topic_filter, qos=qos)
        await client.subscribe(marker, qos=qos)
        await client.publish(marker, b"end", qos=qos)
        try:
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    if str(message.topic) == marker:
                        return tree
                    if message.retain and message.payload:
                        tree[str(message.topic)] = bytes(message.payload)  # type: ignore[arg-type]
        except TimeoutError:
            pass
    raise AssertionError(
        f"the retained tree under {topic_filter!r} did not end within {timeout:g} s "
        f"({len(tree)} topics so far)"
    )


def _normalise_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("<volatile>" if k in _VOLATILE_KEYS else _normalise_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normalise_json(v) for v in value]
    return value


def normalise(tree: dict[str, bytes]) -> dict[str, Any]:
    """A JSON-able, run-independent view of a retained tree, for golden comparisons."""
    out: dict[str, Any] = {}
    for topic in sorted(tree):
        payload = tree[topic]
        if any(p.search(topic) for p in _VOLATILE_TOPICS):
            out[topic] = "<volatile>"
            continue
        try:
            value: Any = json.loads(payload)
        except ValueError:
            value = payload.decode("utf-8", "replace")
        out[topic] = _normalise_json(value) if isinstance(value, dict | list) else value
    return out


class Listener:
    """Subscribes in the background and records everything (with MQTT 5 properties)."""

    def __init__(self, port: int, filters: tuple[str, ...] = ("#",)) -> None:
        self.port = port
        self.filters = filters
        self.messages: list[Received] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> Listener:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        """Record messages; survives broker restarts (reconnects and resubscribes)."""
        while True:
            client = aiomqtt.Client("127.0.0.1", self.port, protocol=aiomqtt.ProtocolVersion.V5)
            try:
                async with client:
                    for f in self.filters:
                        await client.subscribe(f, qos=1)
                    self._ready.set()
                    async for m in client.messages:
                        payload = m.payload if isinstance(m.payload, bytes) else b""
                        received = Received(str(m.topic), payload, m.retain, m.properties)
                        async with self._changed:
                            self.messages.append(received)
                            self._changed.notify_all()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 5.0, start: int = 0
    ) -> Received:
        async def find() -> Received:
            async with self._changed:
                while True:
                    for m in self.messages[start:]:
                        if predicate(m):
                            return m
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_topic(
        self, topic: str, payload: bytes | None = None, timeout: float = 5.0, start: int = 0
    ) -> Received:
        return await self.wait_for(
            lambda m: m.topic == topic and (payload is None or m.payload == payload),
            timeout,
            start,
        )

    def mark(self) -> int:
        return len(self.messages)
