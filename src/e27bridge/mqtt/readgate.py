"""Stop reading from the broker while the bridge is behind, so a flood waits at the broker.

aiomqtt reads whatever the broker sends into an unbounded queue; a ``/set`` flood that
arrives faster than the bridge handles it grew the daemon by 127 MiB (issue 9). Its
``max_queued_incoming_messages`` drops messages when full, which would lose commands, and
an MQTT 5 Receive Maximum did not hold with mosquitto 2.0.11 (ADR-0105). So the gate
takes the socket out of the event loop while more than ``HIGH_WATER`` messages wait and
puts it back below ``LOW_WATER``: unread data stays in the kernel buffer, TCP flow control
stops the broker, and the broker queues the rest (``max_queued_messages``).

Keepalive: a pause never lasts longer than a quarter of the keepalive, and every resume
reads at least one packet, so paho's "nothing heard for a keepalive" check never fires;
writes (results, PINGREQ) are never paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING

import aiomqtt
import paho.mqtt.client as paho_mqtt
import structlog
from paho.mqtt.enums import MQTTErrorCode

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = structlog.get_logger(__name__)

HIGH_WATER = 256  # messages read but not yet handled: about 1.5 MB
LOW_WATER = 64


def paho_client(client: aiomqtt.Client) -> paho_mqtt.Client:
    """The paho client inside aiomqtt: private (``_client``), so pinned in pyproject and
    checked by ``tests/mqtt/test_readgate.py``; a change fails loudly here, not silently."""
    paho = getattr(client, "_client", None)
    if not isinstance(paho, paho_mqtt.Client):
        raise RuntimeError("aiomqtt.Client no longer has a paho client in _client")
    return paho


class ReadGate:
    """Pauses one connection's socket reads while its backlog is above the high-water mark.

    Only public paho API is used beyond ``paho_client``: ``loop_read`` (wrapped to check
    the backlog after every read) and ``socket()``. aiomqtt's reader callback cannot be
    put back once removed, so a resumed socket is read by ``_readable``, which does what
    aiomqtt's does.

    A pause ends when the backlog is down to the low-water mark or after ``max_pause``.
    Whoever waits for the broker (a PUBACK, a SUBACK) holds reads open with ``reading``:
    the acknowledgement comes in over this socket, behind the flood.
    """

    def __init__(
        self,
        client: aiomqtt.Client,
        *,
        max_pause: float,
        high: int = HIGH_WATER,
        low: int = LOW_WATER,
    ) -> None:
        self._paho = paho_client(client)
        self._messages = client.messages  # len() is public: the unhandled backlog
        self._loop = asyncio.get_running_loop()
        self._max_pause = max_pause
        self._high = high
        self._low = low
        self._holds = 0
        self._paused: SocketLike | None = None  # the socket taken out, if any
        self._timer: asyncio.TimerHandle | None = None
        self.pauses = 0
        read = self._paho.loop_read

        def read_then_check(max_packets: int = 1) -> MQTTErrorCode:
            rc = read(max_packets)
            if self._holds == 0 and len(self._messages) >= self._high:
                self._pause()
            return rc

        self._paho.loop_read = read_then_check  # type: ignore[method-assign]

    @property
    def paused(self) -> bool:
        return self._paused is not None

    def handled(self) -> None:
        """The message loop took one message: resume once the backlog is low."""
        if self._paused is not None and len(self._messages) <= self._low:
            self._resume()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Keep reading whatever the backlog while someone waits for the broker."""
        self._holds += 1
        self._resume()
        try:
            yield
        finally:
            self._holds -= 1

    def close(self) -> None:
        """The connection ended: never touch its (possibly reused) descriptor again."""
        if self._timer is not None:
            self._timer.cancel()
        self._paused = None

    def _pause(self) -> None:
        sock = self._paho.socket()
        if sock is None or self._paused is not None:
            return
        self._loop.remove_reader(sock.fileno())
        self._paused = sock
        self.pauses += 1
        self._timer = self._loop.call_later(self._max_pause, self._resume)

    def _resume(self) -> None:
        sock, self._paused = self._paused, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if sock is not None and sock is self._paho.socket():  # still this connection's
            self._loop.add_reader(sock.fileno(), self._readable)

    def _readable(self) -> None:
        """aiomqtt's reader, once the socket was paused: TLS may hold decoded bytes that
        the descriptor no longer signals, so read until it has none."""
        try:
            while True:
                self._paho.loop_read()
                sock = self._paho.socket()
                if not (isinstance(sock, ssl.SSLSocket) and sock.pending() > 0):
                    break
        except Exception:  # paho reports a lost connection by return code; this is a bug
            log.exception("mqtt_read_failed")
            sock = self._paho.socket()
            if sock is not None:
                self._loop.remove_reader(sock.fileno())
            self._paho.disconnect()  # aiomqtt's message loop then ends; the session retries
