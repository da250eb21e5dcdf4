"""Reads pause while the message loop is behind, so a flood waits at the broker (ADR-0105)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho_mqtt
import pytest

from e27bridge.mqtt.connection import ConnectionSettings, MqttConnection, Will
from e27bridge.mqtt.readgate import HIGH_WATER, paho_client
from waiting import wait_until

from .conftest import Broker, running

MESSAGES = 3000


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Keeps what the bridge has not read yet (mosquitto's default drops beyond 1,000)."""
    b = Broker(tmp_path, "max_queued_messages 100000\n")
    b.start()
    try:
        yield b
    finally:
        b.stop()


async def test_aiomqtt_still_has_a_paho_client_and_a_countable_queue() -> None:
    """The one private part we rely on: if aiomqtt moves it, this fails, not the flood."""
    client = aiomqtt.Client("127.0.0.1")
    assert isinstance(paho_client(client), paho_mqtt.Client)
    assert len(client.messages) == 0


def stuck_loop(release: asyncio.Event) -> tuple[list[bytes], object]:
    seen: list[bytes] = []

    async def on_message(message: aiomqtt.Message) -> None:
        seen.append(message.payload)  # type: ignore[arg-type]
        if len(seen) == 1:
            await release.wait()

    return seen, on_message


async def flood(port: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as c:
        for n in range(MESSAGES):
            await c.publish("t/in/x", str(n), qos=1)


async def test_a_stuck_message_loop_leaves_the_flood_at_the_broker(broker: Broker) -> None:
    release = asyncio.Event()
    seen, on_message = stuck_loop(release)
    conn = MqttConnection(
        ConnectionSettings(port=broker.port, client_id="gated"),
        will=Will("t/lwt", "lost"),
        subscriptions=["t/in/#"],
        on_message=on_message,  # type: ignore[arg-type]
    )
    async with running(conn):
        await asyncio.wait_for(conn.wait_connected(), 5)
        await flood(broker.port)  # all taken by the broker while the bridge handles none
        release.set()
        await wait_until(lambda: len(seen) == MESSAGES, "every message", timeout=60)
    assert seen == [str(n).encode() for n in range(MESSAGES)]
    # Without the gate aiomqtt reads all of them while the loop is stuck.
    assert conn.backlog_peak <= HIGH_WATER + 16, conn.backlog_peak


async def test_a_pause_never_outlasts_the_keepalive(broker: Broker) -> None:
    """A loop stuck for many keepalives: reads resume in time, the connection stays up."""
    release = asyncio.Event()
    seen, on_message = stuck_loop(release)
    conn = MqttConnection(
        ConnectionSettings(port=broker.port, client_id="gated", keepalive=1),
        will=Will("t/lwt", "lost"),
        subscriptions=["t/in/#"],
        on_message=on_message,  # type: ignore[arg-type]
    )
    async with running(conn):
        await asyncio.wait_for(conn.wait_connected(), 5)
        await flood(broker.port)
        gate = conn._gate  # how many pauses ended on their own
        assert gate is not None
        # Each pause lasts a quarter keepalive: 12 of them are three keepalives stuck.
        await wait_until(lambda: gate.pauses >= 12, "pauses ending by themselves", timeout=30)
        release.set()
        await wait_until(lambda: len(seen) == MESSAGES, "every message", timeout=60)
    assert conn.connects == 1
