"""One broker connection that stays up: MQTT 5 with 3.1.1 fallback, TLS, LWT, backoff.

aiomqtt has no reconnect of its own; ``MqttConnection.run`` loops with capped, jittered
exponential backoff (also after a connection that came up and then dropped quickly) and
calls ``on_connect`` after every (re)connect so the caller republishes its retained state.
Publishing while disconnected is a no-op (ADR-0103), except for command results: those
``deliver`` keeps in an :class:`Outbox` until a connection takes them (ADR-0105).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import paho.mqtt.client as paho_mqtt
import structlog
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from e27bridge.mqtt.outbox import Outbox, Result
from e27bridge.mqtt.readgate import ReadGate, paho_client

log = structlog.get_logger(__name__)

NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
PUBLISH_WINDOW = 1000  # publishes awaiting their PUBACK before a caller has to wait

OnConnect = Callable[[], Awaitable[None]]
OnMessage = Callable[[aiomqtt.Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TlsSettings:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False
    server_name: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.server_name = self.server_name
        if self.ca_file is not None:
            ctx.load_verify_locations(cafile=str(self.ca_file))
        else:
            ctx.load_default_certs()
        if self.cert_file is not None:
            key = str(self.key_file) if self.key_file else None
            ctx.load_cert_chain(str(self.cert_file), key)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


class _ServerNameContext(ssl.SSLContext):
    """An SSL context that sends (and checks) a configured server name instead of the host."""

    server_name: str | None = None

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        if self.server_name:
            kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "e27bridge"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keepalive: int = 60
    protocol: str = "auto"  # "auto" | "5" | "3.1.1"
    tls: TlsSettings | None = None
    min_backoff: float = 1.0
    max_backoff: float = 60.0
    connect_timeout: float = 10.0
    stable_after: float = 30.0  # a connection this old resets the backoff


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: str


def _failure(exc: BaseException, connect_timeout: float) -> str:
    """Readable cause. A bare timeout is a CONNECT never answered: aiomqtt ignores a close
    before CONNACK, e.g. a TLS 1.3 broker refusing the client certificate."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return (
            f"no CONNACK within {connect_timeout:g} s: the broker closed or ignored the "
            "connection (with TLS, check that it accepts the client certificate)"
        )
    return str(exc) or type(exc).__name__


def _ack_at_once(paho: paho_mqtt.Client) -> None:
    """Acknowledge every read at once (TCP_QUICKACK after each read; ADR-0110).

    A broker with Nagle's algorithm on (mosquitto's default) holds its next small write,
    e.g. the next ``/set`` for us, until we ACK its previous one (a PUBACK); our delayed
    ACK then stalls every command by up to 40 ms. Linux drops quick-ACK mode on its own,
    so it is set again after each read. aiomqtt gives no hook for this, hence its paho
    client; without TCP_QUICKACK (another platform) only speed suffers.
    """
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is None:
        return
    read = paho.loop_read

    def read_and_ack(max_packets: int = 1) -> MQTTErrorCode:
        rc = read(max_packets)
        sock = paho.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        return rc

    paho.loop_read = read_and_ack  # type: ignore[method-assign]


def backoff_delay(attempt: int, low: float, high: float, rng: random.Random) -> float:
    """Capped exponential backoff with jitter: somewhere in [50 %, 100 %] of the step."""
    step = min(high, low * (2.0 ** min(attempt, 30)))
    return step * (0.5 + rng.random() / 2)


class MqttConnection:
    """Keeps one client connected; a ``Sink`` for publishers."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        will: Will | None,
        subscriptions: Sequence[str] = (),
        on_connect: OnConnect | None = None,
        on_message: OnMessage | None = None,
        results: Outbox | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._s = settings
        # Several connections share a process (commands, state, Homie 4 wills): every
        # event says which one it is.
        self._log = log.bind(client_id=settings.client_id)
        self._will = will
        self.subscriptions = tuple(subscriptions)  # the bridge sets them from its features
        self._on_connect = on_connect
        self._on_message = on_message
        self._rng = rng or random.Random()
        self._client: aiomqtt.Client | None = None
        self._gate: ReadGate | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._v5: bool = settings.protocol != "3.1.1"
        self._connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self._window = asyncio.Semaphore(PUBLISH_WINDOW)
        self._in_flight: set[asyncio.Task[None]] = set()
        self.connects = 0
        self.published = 0  # messages the broker took (metrics)
        self.received = 0  # messages the broker sent us (tests, metrics)
        self.backlog_peak = 0  # most messages read but not yet handled (health, ADR-0105)
        # Results for another connection to send: their PUBACKs then do not wait behind
        # a flood on this one's socket while its reads are paused (ADR-0105).
        self.outbox = results if results is not None else Outbox()
        self._sends_results = results is None

    def _aiomqtt_will(self) -> aiomqtt.Will | None:
        will = self._will
        return None if will is None else aiomqtt.Will(will.topic, will.payload, qos=1, retain=True)

    @property
    def client_id(self) -> str:
        return self._s.client_id

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def mqtt5(self) -> bool:
        return self._v5

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        retain: bool = True,
        qos: int = 1,
        urgent: bool = True,
        properties: Properties | None = None,
    ) -> None:
        """Hand the message to the client and return without waiting for its PUBACK.

        Publishes are pipelined: the client sends them in call order on one connection (so
        the broker keeps that order), and up to ``PUBLISH_WINDOW`` may await their PUBACK at
        once; only beyond that does a caller wait. One awaited PUBACK per message would
        cap the bridge at one message per broker round trip.
        """
        client = self._client
        if client is None:
            self._log.debug("mqtt_publish_dropped", topic=topic, reason="disconnected")
            return
        if self._window.locked():
            with self._reading():  # the PUBACKs that free the window
                await self._window.acquire()
        else:
            await self._window.acquire()
        # The task hands the message to paho before its first await, and tasks start in
        # creation order, so the call order is the wire order.
        task = asyncio.create_task(
            self._publish(client, topic, payload, qos=qos, retain=retain, properties=properties)
        )
        self._in_flight.add(task)
        task.add_done_callback(self._published)

    async def _publish(
        self,
        client: aiomqtt.Client,
        topic: str,
        payload: str | bytes,
        *,
        qos: int,
        retain: bool,
        properties: Properties | None,
    ) -> None:
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        except aiomqtt.MqttError as exc:
            self._log.warning("mqtt_publish_failed", topic=topic, error=str(exc))
        else:
            self.published += 1

    def _published(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._window.release()

    async def flush(self) -> None:
        """Wait until every publish handed over so far is acknowledged (or failed); not
        for later ones, which never end while other tasks keep publishing."""
        handed_over = tuple(self._in_flight)
        if handed_over:
            with self._reading():
                await asyncio.gather(*handed_over, return_exceptions=True)

    def _reading(self) -> contextlib.AbstractContextManager[None]:
        """Reads on while the message loop waits for the broker's acknowledgement, which
        comes in behind the flood (``ReadGate``). Other tasks just wait: the message loop
        keeps draining, so reads resume anyway."""
        gate = self._gate
        if gate is None or asyncio.current_task() is not self._session_task:
            return contextlib.nullcontext()
        return gate.reading()

    async def unsubscribe(self, *topics: str) -> None:
        """Drop subscriptions on this connection only: the next connect subscribes again."""
        client = self._client
        if client is None:
            return
        try:
            with self._reading():
                for topic in topics:
                    await client.unsubscribe(topic)
        except aiomqtt.MqttError as exc:
            self._log.warning("mqtt_unsubscribe_failed", error=str(exc))

    def deliver(self, topic: str, payload: str, properties: Properties | None = None) -> None:
        """A command result: published now, or kept until the broker is back (never waits)."""
        self.outbox.put(Result(topic, payload, properties))

    async def run(self) -> None:
        """Connect, serve, reconnect; returns only when cancelled or ``stop`` was called."""
        attempt = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            self._session_task = asyncio.create_task(self._session())
            try:
                await self._session_task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not self._stopping.is_set() or (current is not None and current.cancelling()):
                    raise
                self._log.info("mqtt_closed", host=self._s.host, port=self._s.port)
                break
            except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
                if self._stopping.is_set():
                    self._log.info("mqtt_closed", host=self._s.host, port=self._s.port)
                    break
                self._log.warning(
                    "mqtt_disconnected",
                    host=self._s.host,
                    port=self._s.port,
                    error=_failure(exc, self._s.connect_timeout),
                )
                if self._fallback():
                    continue
            finally:
                self._client = None
                self._connected.clear()
            if self._stopping.is_set():
                break
            if time.monotonic() - started >= self._s.stable_after:
                attempt = 0
            delay = backoff_delay(attempt, self._s.min_backoff, self._s.max_backoff, self._rng)
            attempt += 1
            self._log.info("mqtt_reconnect_wait", delay=round(delay, 2), attempt=attempt)
            await asyncio.sleep(delay)

    async def stop(self, final: Sequence[tuple[str, str]] = ()) -> None:
        """Publish ``final`` retained messages (clean goodbye), then disconnect."""
        self._stopping.set()
        for topic, payload in final:
            await self.publish(topic, payload)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self.flush()
        session = self._session_task
        if session is not None and not session.done():
            session.cancel()  # leaves ``async with client``: a clean DISCONNECT, no will
            await asyncio.wait({session}, timeout=2)

    def _fallback(self) -> bool:
        """Auto mode, never connected yet: try the other protocol version (ADR-0103).

        Brokers refuse MQTT 5 in different ways (CONNACK 0x84, a closed socket, or no answer
        at all), so any failed MQTT 5 attempt is followed at once by a 3.1.1 attempt; once a
        connection succeeded, that version is kept.
        """
        if self._s.protocol != "auto" or self.connects > 0:
            return False
        self._v5 = not self._v5
        if not self._v5:
            self._log.info("mqtt5_failed_trying_311")
            return True
        return False

    def _client_for(self) -> aiomqtt.Client:
        s = self._s
        version = aiomqtt.ProtocolVersion.V5 if self._v5 else aiomqtt.ProtocolVersion.V311
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            protocol=version,
            will=self._aiomqtt_will(),
            keepalive=s.keepalive,
            timeout=s.connect_timeout,
            tls_context=s.tls.context() if s.tls else None,
            tls_insecure=s.tls.insecure if s.tls else None,
            # paho opens its own socket, so asyncio's TCP_NODELAY default does not reach
            # it; without it each small publish waits on Nagle against the broker's
            # delayed ACK (~40 ms).
            socket_options=(NODELAY,),
        )
        # Pipelined on purpose, no warning: the window plus every filter's (un)subscribe.
        client.pending_calls_threshold = PUBLISH_WINDOW + 2 * len(self.subscriptions)
        return client

    async def _session(self) -> None:
        client = self._client_for()
        # The timeout bounds the connect only (aiomqtt's blocking TCP connect has none).
        async with asyncio.timeout(self._s.connect_timeout) as connecting, client:
            connecting.reschedule(None)
            _ack_at_once(paho_client(client))
            self._gate = gate = ReadGate(client, max_pause=(self._s.keepalive or 60) / 4)
            try:
                await self._serve(client, gate)
            finally:
                gate.close()
                self._gate = None

    async def _serve(self, client: aiomqtt.Client, gate: ReadGate) -> None:
        self.connects += 1
        self._client = client
        self._log.info(
            "mqtt_connected",
            host=self._s.host,
            port=self._s.port,
            mqtt5=self._v5,
        )
        tasks: list[asyncio.Task[None]] = []
        try:
            with gate.reading():  # SUBACKs
                # All sent at once, not one round trip each: reads stay open for the
                # SUBACKs, and our own echoes on the first filters piled up unread
                # meanwhile (64 panels: 130 filters, +80 MiB).
                await asyncio.gather(*(self._subscribe(client, t) for t in self.subscriptions))
            self._connected.set()
            if self._sends_results:
                tasks.append(asyncio.create_task(self.outbox.send(client), name="mqtt-results"))
            if self._on_connect is not None:
                tasks.append(asyncio.create_task(self._connect_hook(self._on_connect, client)))
            await self._messages(client, gate)
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)

    async def _subscribe(self, client: aiomqtt.Client, topic: str) -> None:
        if self._v5:
            # MQTT 5 tells us whether a /set was published retained (ADR-0104).
            options = SubscribeOptions(qos=1, retainAsPublished=True)
            await client.subscribe(topic, options=options)
        else:
            await client.subscribe(topic, qos=1)

    async def _connect_hook(self, on_connect: OnConnect, client: aiomqtt.Client) -> None:
        """``on_connect`` beside the message loop, not before it: a republish can take
        seconds (it waits for the panels' own updates), and the echoes of our tree read
        meanwhile piled up unhandled (+100 MiB with 64 panels). A bug in it is logged and
        ends the connection, so the next one republishes again."""
        try:
            await on_connect()
        except Exception:
            self._log.exception("mqtt_on_connect_failed")
            paho_client(client).disconnect()  # the message loop then ends

    async def _messages(self, client: aiomqtt.Client, gate: ReadGate) -> None:
        # Results sent on this connection need its reads for their PUBACKs.
        hold = gate.reading if self._sends_results else contextlib.nullcontext
        async for message in client.messages:
            self.received += 1
            self.backlog_peak = max(self.backlog_peak, len(client.messages) + 1)
            if self._on_message is not None:
                await self._on_message(message)
            if self.outbox.crowded:  # results first: a flood waits at the broker
                with hold():
                    await self.outbox.room()
            gate.handled()
