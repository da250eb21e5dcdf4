"""The framed phase of one simulated-panel connection: requests in, replies and broadcasts out.

Requests of one session are answered in arrival order by one worker. Without injected
delays a request is answered inline as soon as it is read (the fast path); with delays the
reader keeps reading while the worker sleeps, so a client that sends a second request before
the first reply is seen as an in-flight violation (ADR-0250).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, Protocol

import structlog

from e27bridge.protocol.cleartext import dumps
from e27bridge.protocol.errors import MalformedMessage, PanelErrorCode
from e27bridge.protocol.messages import PanelRequest, parse_request
from e27bridge.protocol.phases import Connection, Dropped, FramingProblem, Received
from e27bridge.simulator.faults import SPLIT_PAUSE, FaultState, bad_crc_frame, garbage, split_points
from e27bridge.simulator.panel import SessionAuth
from e27bridge.simulator.stats import ServerStats, SessionStats

log = structlog.get_logger("e27bridge.simulator.server")


class PanelModel(Protocol):
    """What the server needs from the panel (``SimulatedPanel`` satisfies it)."""

    def handle(self, request: PanelRequest, auth: SessionAuth, now: float) -> dict[str, Any]: ...
    def advance(self, now: float) -> None: ...
    def next_deadline(self) -> float | None: ...
    def take_broadcasts(self) -> list[dict[str, Any]]: ...
    def domain_counts(self) -> dict[str, int]: ...


class Wire(Protocol):
    """The TCP connection a session lives on (server.py's connection protocol)."""

    closed: bool
    wire: Connection

    def abort(self, reason: str) -> None: ...
    def write(self, data: bytes) -> None: ...


class Host(Protocol):
    """What a session needs from its server."""

    panel: PanelModel
    stats: ServerStats
    faults: FaultState
    rng: random.Random
    strict: bool
    clock: Callable[[], float]

    def panel_changed(self) -> None: ...
    def session_closed(self, session: Session) -> None: ...


class Session:
    """The framed phase of one connection: its own key, counters and worker."""

    def __init__(self, conn: Wire, server: Host, sn: str, auth: SessionAuth) -> None:
        self.conn = conn
        self.server = server
        self.sn = sn
        self.auth = auth
        self.stats: SessionStats = self.server.stats.open_session(auth.session_id, sn)
        self.requests_seen = 0
        self._queue: asyncio.Queue[PanelRequest] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._busy = False
        self._out: asyncio.Queue[bytes] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._late: set[asyncio.TimerHandle] = set()

    def closed(self, reason: str) -> None:
        if self.stats.closed:
            return
        self.stats.closed = True
        self.stats.close_reason = reason
        self.server.session_closed(self)
        for task in (self._worker, self._writer_task):
            if task is not None:
                task.cancel()
        for handle in self._late:
            handle.cancel()
        log.info("sim_session_closed", sn=self.sn, reason=reason)

    # -- inbound ---------------------------------------------------------------------------

    def on_frame(self, event: Received | Dropped | FramingProblem) -> None:
        """One event of the framed phase (the connection's phase machine decoded it)."""
        stats = self.server.stats
        if isinstance(event, FramingProblem):
            stats.protocol_errors[event.error.kind.value] += 1
        elif isinstance(event, Dropped):
            stats.protocol_errors["bad_envelope"] += 1
            self._protocol_error("bad_envelope")
        else:
            try:
                request = parse_request(event.envelope.payload)
            except MalformedMessage:
                stats.protocol_errors["malformed_json"] += 1
                self._protocol_error("malformed_json")
                return
            self._received(request)

    def _protocol_error(self, kind: str) -> None:
        log.info("sim_protocol_error", sn=self.sn, kind=kind)
        if self.server.strict:
            self.conn.abort(f"strict_{kind}")

    def _received(self, request: PanelRequest) -> None:
        server, stats, faults = self.server, self.server.stats, self.server.faults
        violation = stats.request_received(self.stats)
        if violation:
            log.warning("sim_in_flight_violation", sn=self.sn, seq=request.seq)
            if server.strict:
                self.conn.abort("in_flight_violation")
                return
        self.requests_seen += 1
        if faults.close_after_requests and self.requests_seen >= faults.close_after_requests:
            stats.faults_injected["close_after_requests"] += 1
            self.conn.abort("fault_close_after_requests")
            return
        if faults.roll(server.rng, faults.close_probability):
            stats.faults_injected["close_random"] += 1
            self.conn.abort("fault_close_random")
            return
        if (
            self._worker is None
            and faults.response_delay == 0
            and faults.jitter == 0
            and self._queue.empty()
        ):
            self._process(request)
            return
        self._queue.put_nowait(request)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name=f"sim-session-{self.sn}")

    async def _work(self) -> None:
        faults, rng = self.server.faults, self.server.rng
        while True:
            request = await self._queue.get()
            delay = faults.reply_delay(rng)
            if delay > 0:
                await asyncio.sleep(delay)
            if self.conn.closed:
                return
            self._process(request)

    def _process(self, request: PanelRequest) -> None:
        server, stats, faults = self.server, self.server.stats, self.server.faults
        try:
            reply = server.panel.handle(request, self.auth, server.clock())
        except Exception:
            log.exception("sim_panel_failed", domain=request.domain, command=request.command)
            reply = {
                "seq": request.seq,
                "error_code": int(PanelErrorCode.UNKNOWN),
                "error_message": "simulator error",
            }
        stats.request_settled(self.stats)
        if faults.roll(server.rng, faults.drop_reply_probability):
            stats.faults_injected["drop_reply"] += 1
        elif faults.late_reply_delay > 0 and faults.roll(server.rng, faults.late_reply_probability):
            stats.faults_injected["late_reply"] += 1
            payload = dumps(reply)
            loop = asyncio.get_running_loop()
            handle: asyncio.TimerHandle

            def send_late() -> None:
                self._late.discard(handle)
                self.send_payload(payload)
                stats.replies_sent += 1

            handle = loop.call_later(faults.late_reply_delay, send_late)
            self._late.add(handle)
        else:
            self.send_payload(dumps(reply))
            stats.replies_sent += 1
        server.panel_changed()

    # -- outbound --------------------------------------------------------------------------

    def send_payload(self, payload: bytes) -> None:
        if self.conn.closed:
            return
        frame = self.conn.wire.send(payload)
        if self._out is None and not self.server.faults.disturbs_writes:
            self.conn.write(frame)
            return
        if self._out is None:
            self._out = asyncio.Queue()
            self._writer_task = asyncio.create_task(self._write_disturbed())
        self._out.put_nowait(frame)

    async def _write_disturbed(self) -> None:
        """Ordered writer used once any write fault was active for this session."""
        assert self._out is not None
        faults, rng, stats = self.server.faults, self.server.rng, self.server.stats
        while True:
            frame = await self._out.get()
            if faults.roll(rng, faults.garbage_between_frames):
                stats.faults_injected["garbage"] += 1
                self.conn.write(garbage(rng))
            if faults.roll(rng, faults.bad_crc_probability):
                stats.faults_injected["bad_crc"] += 1
                self.conn.write(bad_crc_frame(self.conn.wire.session_key))
            if faults.split_frames:
                stats.faults_injected["split_frame"] += 1
                for piece in split_points(frame, rng):
                    self.conn.write(piece)
                    await asyncio.sleep(SPLIT_PAUSE)
            else:
                self.conn.write(frame)
