"""One TCP connection to one panel: connect, HELLO, framed receive pump, send, close.

A ``Session`` is an ordinary object with an explicit lifecycle. It knows nothing about
queues or state: it hands every decoded message to ``on_message`` and reports its end once
through ``on_closed``. The owner decides which session is current. The phases (HELLO,
then frames) are sequenced by the protocol core's ``phases.Connection``; this module does
the I/O around it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from e27bridge.protocol.errors import ProtocolError, TransportError
from e27bridge.protocol.hello import HelloAccepted, HelloOutcome
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.messages import Inbound, decode_message, encode_request
from e27bridge.protocol.phases import (
    Connection,
    Dropped,
    Event,
    FramingProblem,
    HelloReplied,
    Received,
    Role,
)
from e27bridge.protocol.requests import RequestSpec
from e27bridge.supervisor import describe

log = structlog.get_logger("e27bridge.session")

READ_SIZE = 4096
BAD_FRAMES_FATAL = 3


@dataclass(frozen=True, slots=True)
class SessionTimeouts:
    connect: float = 5.0
    hello: float = 5.0
    write: float = 5.0


class HelloFailed(Exception):
    """HELLO ended without a session; ``outcome`` says why (typed, from the protocol core)."""

    def __init__(self, outcome: HelloOutcome) -> None:
        self.outcome = outcome
        super().__init__(type(outcome).__name__)


class Session:
    def __init__(
        self,
        host: str,
        port: int,
        identity: ClientIdentity,
        link_keys: LinkKeys,
        *,
        on_message: Callable[[Session, Inbound], None],
        on_closed: Callable[[Session, str], None],
        on_error: Callable[[Session, Exception], None] | None = None,
        timeouts: SessionTimeouts | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._identity = identity
        self._link_keys = link_keys
        self._on_message = on_message
        self._on_closed = on_closed
        self._on_error = on_error
        self._timeouts = timeouts or SessionTimeouts()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._draining: asyncio.Task[None] | None = None
        self._conn = Connection(Role.CLIENT)
        self._closed = False
        self.session_id: int | None = None
        self.protocol_errors = 0
        self.framing_errors = 0
        self._bad_in_a_row = 0

    def __repr__(self) -> str:
        return f"Session({self.host}:{self.port}, session_id={self.session_id})"

    @property
    def active(self) -> bool:
        return self._pump is not None and not self._closed

    async def open(self) -> HelloAccepted:
        """Connect and run HELLO; raises ``TransportError`` or ``HelloFailed``."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self._timeouts.connect
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"connect to {self.host}:{self.port} failed: {exc}") from exc
        try:
            accepted, early = await asyncio.wait_for(self._hello(), self._timeouts.hello)
        except TimeoutError as exc:
            await self._abort()
            raise TransportError("no HELLO reply before the deadline") from exc
        except BaseException:
            await self._abort()
            raise
        self.session_id = accepted.session_id
        self._pump = asyncio.create_task(self._run_pump(early), name=f"e27-pump-{self.host}")
        return accepted

    async def _hello(self) -> tuple[HelloAccepted, list[Event]]:
        """HELLO; returns the acceptance and the framed events that came with it."""
        assert self._reader is not None and self._writer is not None
        # The banner may or may not have arrived; HELLO does not need its nonce.
        self._writer.write(self._conn.start_hello(self._identity, self._link_keys))
        await self._writer.drain()
        while True:
            data = await self._reader.read(READ_SIZE)
            if not data:
                raise TransportError("connection closed during HELLO")
            events = self._conn.receive(data)
            for index, event in enumerate(events):
                if not isinstance(event, HelloReplied):
                    continue
                if not isinstance(event.outcome, HelloAccepted):
                    raise HelloFailed(event.outcome)
                return event.outcome, events[index + 1 :]

    def send(self, seq: int, spec: RequestSpec) -> None:
        """Frame, encrypt and write one request at once (the queue sends in the step that
        freed its slot); raises ``TransportError`` when the session is closed. What the
        socket cannot take at once drains in the background within the write timeout."""
        if self._writer is None or self._closed or self._writer.is_closing():
            raise TransportError("session is closed")
        payload = encode_request(seq, self.session_id, spec.domain, spec.command, spec.args)
        self._writer.write(self._conn.send(payload))
        if self._writer.transport.get_write_buffer_size() and self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name=f"e27-drain-{self.host}")

    async def _drain(self) -> None:
        assert self._writer is not None
        try:
            await asyncio.wait_for(self._writer.drain(), self._timeouts.write)
        except (OSError, TimeoutError) as exc:
            self._finish(f"write failed: {exc}")
        finally:
            self._draining = None

    def adopt_session_id(self, session_id: int) -> None:
        """The panel issues a new id after authenticate; every later request uses it."""
        self.session_id = session_id

    async def _run_pump(self, early: list[Event]) -> None:
        reason = "closed by panel"
        try:
            self._consume(early)
            while True:
                assert self._reader is not None
                data = await self._reader.read(READ_SIZE)
                if not data:
                    break
                self._consume(self._conn.receive(data))
        except (OSError, ConnectionError) as exc:
            reason = f"connection error: {exc}"
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
        except Exception as exc:  # a bug on our side, never "closed by panel"
            reason = f"internal error: {describe(exc)}"
            if self._on_error is not None:
                self._on_error(self, exc)
            else:
                log.exception("internal_error", unit="session", error=describe(exc))
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        finally:
            self._finish(reason)

    def _consume(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, FramingProblem):
                self.framing_errors += 1
                error = event.error
                log.debug("framing_error", kind=error.kind.value, discarded=error.discarded)
            elif isinstance(event, Dropped):
                self._bad_frame(event.error)
            elif isinstance(event, Received):
                try:
                    message = decode_message(event.envelope.payload)
                except ProtocolError as exc:
                    self._bad_frame(exc)
                    continue
                self._bad_in_a_row = 0
                self._on_message(self, message)

    def _bad_frame(self, exc: ProtocolError) -> None:
        """ADR-0001: drop one bad frame and go on; several in a row mean the keys do not
        match (MAGIC fails on every frame), so the session ends."""
        self.protocol_errors += 1
        self._bad_in_a_row += 1
        log.warning("frame_dropped", error=str(exc), in_a_row=self._bad_in_a_row)
        if self._bad_in_a_row >= BAD_FRAMES_FATAL:
            raise exc

    def _finish(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            # Bytes still buffered mean the panel stopped reading: a plain close would keep
            # the socket open until it reads them, so drop them instead.
            if self._writer.transport.get_write_buffer_size():
                self._writer.transport.abort()
            else:
                self._writer.close()
        self._on_closed(self, reason)

    async def _abort(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self._writer.wait_closed()

    async def close(self) -> None:
        """Retire this session: stop the pump and any write drain, close the socket;
        ``on_closed`` fires once and no task of this session outlives the call."""
        self._finish("closed by bridge")
        tasks = [t for t in (self._pump, self._draining) if t is not None]
        tasks = [t for t in tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._writer is not None:
            with contextlib.suppress(OSError, ConnectionError):
                await self._writer.wait_closed()
