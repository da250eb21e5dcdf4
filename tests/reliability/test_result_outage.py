"""Exactly one result per ``/set``, even when the broker is away as the command finishes.

The requester has a persistent session on a mosquitto that saves its sessions, as a real
installation would: a result the bridge could not publish while the broker was down must
reach it after the broker is back, once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from structlog.testing import capture_logs

from e2e.conftest import RESPONSE, H, InProcessDaemon, StackFactory
from mqtt.conftest import Broker

QUIET = 0.5  # after the result: long enough for a duplicate to show up


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Overrides the rig's broker: this one keeps sessions across a restart."""
    b = Broker(tmp_path, f"persistence true\npersistence_location {tmp_path}/\n")
    b.start()
    try:
        yield b
    finally:
        b.stop()


def requester(port: int) -> aiomqtt.Client:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 600
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier="outage-requester",
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=props,
    )


async def wait_until(condition: object, timeout: float = 20) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def results(client: aiomqtt.Client, window: float) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    try:
        async with asyncio.timeout(window):
            async for message in client.messages:
                found.append(json.loads(message.payload))  # type: ignore[arg-type]
    except TimeoutError:
        pass
    return found


async def test_a_result_due_while_the_broker_is_down_arrives_once_after(
    stack: StackFactory,
) -> None:
    async with stack() as s:
        assert isinstance(s.daemon, InProcessDaemon)
        outbox = s.daemon.daemon.bridge.conn.outbox
        async with requester(s.broker.port) as client:
            await client.subscribe(RESPONSE, qos=1)
        s.sim.server.faults.response_delay = 1.2  # the panel is slow to answer this one
        before = s.sim.stats.requests_total
        body = json.dumps({"action": "disarm", "code": 918273, "transaction": "outage"})
        await s.send(f"{H}/area-1/command/set", body)
        await wait_until(lambda: s.sim.stats.requests_total > before)  # the panel has it
        await asyncio.to_thread(s.broker.stop)
        await wait_until(lambda: len(outbox) == 1)  # the result is due and kept
        s.sim.server.faults.response_delay = 0.0
        await asyncio.to_thread(s.broker.start)
        async with requester(s.broker.port) as client:
            found = await results(client, QUIET * 6)
        assert [r["transaction"] for r in found] == ["outage"], found
        assert found[0]["status"] == "ok"
        assert len(outbox) == 0 and outbox.dropped == 0


async def test_a_result_still_kept_when_the_daemon_stops_is_reported_lost(
    stack: StackFactory,
) -> None:
    """Results are kept in memory only (ADR-0105): one the broker never took is not lost
    silently at shutdown."""
    with capture_logs() as logs:
        async with stack() as s:
            assert isinstance(s.daemon, InProcessDaemon)
            outbox = s.daemon.daemon.bridge.conn.outbox
            s.sim.server.faults.response_delay = 1.2
            before = s.sim.stats.requests_total
            body = json.dumps({"action": "disarm", "code": 918273, "transaction": "lost"})
            await s.send(f"{H}/area-1/command/set", body)
            await wait_until(lambda: s.sim.stats.requests_total > before)
            await asyncio.to_thread(s.broker.stop)
            await wait_until(lambda: len(outbox) == 1)
            await s.daemon.stop()
    unsent = [e for e in logs if e["event"] == "mqtt_results_unsent"]
    assert unsent == [
        {"event": "mqtt_results_unsent", "log_level": "warning", "count": 1,
         "broker_connected": False}
    ], unsent  # fmt: skip
