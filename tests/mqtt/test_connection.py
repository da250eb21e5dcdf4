"""The broker connection against real brokers: mosquitto (MQTT 5) and amqtt (3.1.1 only)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import AsyncIterator

import aiomqtt
from amqtt import broker as amqtt_broker
from structlog.testing import capture_logs

from e27bridge.mqtt.connection import (
    NODELAY,
    ConnectionSettings,
    MqttConnection,
    Will,
    backoff_delay,
)
from waiting import wait_until

from .capture import Listener, retained_tree
from .conftest import Broker, free_port, running
from .relay import Relay


def settings(port: int, **kw: object) -> ConnectionSettings:
    base = {
        "port": port,
        "client_id": "test-bridge",
        "min_backoff": 0.05,
        "max_backoff": 0.2,
        "connect_timeout": 2.0,
    }
    base.update(kw)
    return ConnectionSettings(**base)  # type: ignore[arg-type]


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(12)]
    assert all(0.5 <= d <= 60.0 for d in delays)
    assert delays[0] <= 1.0 and delays[-1] >= 30.0
    assert len({round(d, 6) for d in delays[8:]}) > 1  # jitter at the cap


async def test_connect_subscribe_and_republish_on_every_connect(broker: Broker) -> None:
    connects = 0
    received: list[str] = []
    published: list[int] = []  # on_connect got its publish handed over

    async def on_connect() -> None:
        nonlocal connects
        connects += 1
        await conn.publish("t/state", f"hello {connects}")
        published.append(connects)

    async def on_message(message: aiomqtt.Message) -> None:
        received.append(str(message.topic))

    conn = MqttConnection(
        settings(broker.port),
        will=Will("t/lwt", "lost"),
        subscriptions=["t/in/#"],
        on_connect=on_connect,
        on_message=on_message,
    )
    async with running(conn):
        await asyncio.wait_for(conn.wait_connected(), 5)
        assert conn.mqtt5
        async with aiomqtt.Client("127.0.0.1", broker.port) as other:
            await other.publish("t/in/x", "1", qos=1)
        await wait_until(lambda: received, "the subscribed message")
        assert received == ["t/in/x"]
        await wait_until(lambda: published == [1], "the first republish")
        await conn.flush()  # the broker has it before we read the retained tree
        assert (await retained_tree(broker.port, "t/#"))["t/state"] == b"hello 1"

        broker.restart()  # retained state is gone with the old process
        await wait_until(lambda: len(published) >= 2 and conn.connected, "the reconnect")
        assert connects == 2
        await conn.flush()
        assert (await retained_tree(broker.port, "t/#"))["t/state"] == b"hello 2"


async def test_messages_are_handled_while_on_connect_runs(broker: Broker) -> None:
    """A republish can take seconds; the echoes of our own tree that arrive meanwhile are
    handled at once instead of piling up unread (64 panels: +100 MiB of RSS)."""
    handled = asyncio.Event()

    async def on_connect() -> None:
        await conn.publish("t/echo/1", "x")  # comes back on our own subscription
        await asyncio.wait_for(handled.wait(), 10)  # before the fix: never, nothing read

    async def on_message(message: aiomqtt.Message) -> None:
        handled.set()

    conn = MqttConnection(
        settings(broker.port),
        will=Will("t/lwt", "lost"),
        subscriptions=["t/echo/#"],
        on_connect=on_connect,
        on_message=on_message,
    )
    with capture_logs() as logs:
        async with running(conn):
            await asyncio.wait_for(conn.wait_connected(), 5)
            await wait_until(handled.is_set, "the echo handled during on_connect")
            await conn.flush()
    assert "mqtt_on_connect_failed" not in [e["event"] for e in logs]
    assert conn.connects == 1


async def test_subscriptions_go_out_at_once_not_one_round_trip_each(broker: Broker) -> None:
    """Reads stay open while the SUBACKs are owed; one at a time, 40 filters took 40 round
    trips, and echoes on the first ones piled up unread meanwhile (64 panels: +80 MiB)."""
    connected_at: list[float] = []

    async def on_connect() -> None:
        connected_at.append(time.monotonic())

    async with Relay(broker.port) as relay:
        relay.latency = 0.1  # per broker -> client chunk: 40 round trips would take 4 s
        conn = MqttConnection(
            settings(relay.port, connect_timeout=10.0),
            will=Will("t/lwt", "lost"),
            subscriptions=[f"t/many/{i}" for i in range(40)],
            on_connect=on_connect,
        )
        start = time.monotonic()
        async with running(conn):
            await wait_until(lambda: connected_at, "subscribed")
        assert connected_at[0] - start < 2.0


async def test_a_failing_on_connect_is_logged_and_the_connection_retried(broker: Broker) -> None:
    calls = 0

    async def on_connect() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("bug")

    conn = MqttConnection(settings(broker.port), will=Will("t/lwt", "lost"), on_connect=on_connect)
    with capture_logs() as logs:
        async with running(conn):
            await wait_until(lambda: calls >= 2 and conn.connected, "the second connection")
    assert [e["event"] for e in logs].count("mqtt_on_connect_failed") == 1


async def test_flush_waits_for_what_was_handed_over_not_for_later_publishes(
    broker: Broker,
) -> None:
    """Another task publishing without pause must not keep a flush (and so the republish
    it ends) from ever returning."""
    conn = MqttConnection(settings(broker.port), will=Will("t/lwt", "lost"))
    async with running(conn):
        await asyncio.wait_for(conn.wait_connected(), 5)

        async def chatter() -> None:
            for i in range(1_000_000):
                await conn.publish(f"t/chatter/{i % 10}", str(i), retain=False)
                await asyncio.sleep(0)

        task = asyncio.create_task(chatter())
        try:
            await conn.publish("t/mine", "x")
            await asyncio.wait_for(conn.flush(), 10)
            assert not task.done()
        finally:
            task.cancel()


async def test_publish_while_disconnected_is_dropped_quietly() -> None:
    conn = MqttConnection(settings(free_port()), will=Will("t/lwt", "lost"))
    await conn.publish("t/x", "1")  # no broker, no error
    assert not conn.connected


async def test_will_is_published_when_the_client_dies(broker: Broker) -> None:
    async with Listener(broker.port, ("t/lwt",)) as listener, Relay(broker.port) as relay:
        conn = MqttConnection(settings(relay.port, keepalive=5), will=Will("t/lwt", "lost"))
        task = asyncio.create_task(conn.run())
        await asyncio.wait_for(conn.wait_connected(), 5)
        relay.cut()  # abrupt: no DISCONNECT
        message = await listener.wait_topic("t/lwt", b"lost")
        assert message.retain is False or message.payload == b"lost"
        await conn.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def mqtt311_broker() -> AsyncIterator[int]:
    """amqtt on a free loopback port: a broker that speaks MQTT 3.1.1 only."""
    port = free_port()
    server = amqtt_broker.Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await server.start()
    try:
        yield port
    finally:
        await server.shutdown()


async def test_falls_back_to_mqtt311_when_the_broker_refuses_5() -> None:
    async with mqtt311_broker() as port:
        conn = MqttConnection(settings(port), will=Will("t/lwt", "lost"))
        async with running(conn):
            await asyncio.wait_for(conn.wait_connected(), 10)
            assert not conn.mqtt5


async def test_forced_mqtt5_does_not_fall_back() -> None:
    async with mqtt311_broker() as port:
        conn = MqttConnection(settings(port, protocol="5"), will=Will("t/lwt", "lost"))
        with capture_logs() as logs:
            async with running(conn):
                await wait_until(
                    lambda: [e["event"] for e in logs].count("mqtt_disconnected") >= 2,
                    "two refused MQTT 5 attempts",
                )
                assert not conn.connected and conn.mqtt5
        assert "mqtt5_failed_trying_311" not in [e["event"] for e in logs]


async def test_publishes_are_pipelined_not_one_puback_at_a_time(broker: Broker) -> None:
    """With every PUBACK held back, 15 publishes still reach the broker, in order (paho
    keeps up to 20 QoS 1 messages in flight, the broker's usual receive maximum)."""
    async with Relay(broker.port) as relay, Listener(broker.port, ("t/pipe/#",)) as listener:
        conn = MqttConnection(settings(relay.port), will=Will("t/lwt", "lost"))
        async with running(conn):
            await asyncio.wait_for(conn.wait_connected(), 5)
            relay.downstream.clear()  # no PUBACK reaches the client from now on
            async with asyncio.timeout(5):
                for i in range(15):
                    await conn.publish(f"t/pipe/{i}", str(i), retain=False)
            await wait_until(lambda: len(listener.messages) >= 15, "all 15 at the broker")
            assert [m.payload for m in listener.messages] == [str(i).encode() for i in range(15)]
            flushing = asyncio.create_task(conn.flush())
            await asyncio.sleep(0.1)
            assert not flushing.done()  # the PUBACKs are still owed
            relay.downstream.set()
            await asyncio.wait_for(flushing, 5)


async def test_command_results_are_pipelined(broker: Broker) -> None:
    """Results leave the outbox without waiting for each other's PUBACK, and stay owed
    until the broker acknowledges them."""
    async with Relay(broker.port) as relay, Listener(broker.port, ("t/result/#",)) as listener:
        conn = MqttConnection(settings(relay.port), will=Will("t/lwt", "lost"))
        async with running(conn):
            await asyncio.wait_for(conn.wait_connected(), 5)
            relay.downstream.clear()
            for i in range(5):
                conn.deliver(f"t/result/{i}", str(i))
            await wait_until(lambda: len(listener.messages) >= 5, "all 5 results at the broker")
            assert [m.payload for m in listener.messages] == [str(i).encode() for i in range(5)]
            assert conn.outbox.sent == 0
            relay.downstream.set()
            await asyncio.wait_for(conn.outbox.wait_empty(), 5)
            assert conn.outbox.sent == 5


async def test_request_reply_through_a_nagle_broker_is_not_held_by_delayed_acks(
    broker: Broker,
) -> None:
    """mosquitto keeps Nagle on by default, so its next write to us waits for our ACK of
    the previous one; a delayed ACK (~40 ms) would stall every command. The client ACKs
    each read at once, so a request-reply round trip stays far below that."""

    async def echo(message: aiomqtt.Message) -> None:
        await conn.publish("t/out", bytes(message.payload), retain=False)  # type: ignore[arg-type]

    conn = MqttConnection(
        settings(broker.port), will=Will("t/lwt", "lost"), subscriptions=["t/in"], on_message=echo
    )
    # Requester and listener on connections of their own, like a publisher and the
    # subscriber of its response topic: each sees one broker write per round.
    pub = aiomqtt.Client("127.0.0.1", broker.port, socket_options=(NODELAY,))
    sub = aiomqtt.Client("127.0.0.1", broker.port, socket_options=(NODELAY,))
    async with running(conn), pub, sub:
        await asyncio.wait_for(conn.wait_connected(), 5)
        await sub.subscribe("t/out", qos=1)
        rounds: list[float] = []
        for i in range(30):
            start = time.monotonic()
            await pub.publish("t/in", str(i), qos=1)
            async with asyncio.timeout(5):
                async for message in sub.messages:
                    if message.payload == str(i).encode():
                        break
            rounds.append(time.monotonic() - start)
        assert statistics.median(rounds) < 0.02, rounds
