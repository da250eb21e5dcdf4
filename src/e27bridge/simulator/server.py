"""The simulated panel's TCP side: listener, banner, ``api_link`` and ``hello``.

All wire work goes through the sans-IO protocol core; this module only owns sockets, tasks
and timing. The panel model (``SimulatedPanel``) is pure and is called from here:
``handle`` for each request, ``advance`` from one timer loop, and ``take_broadcasts`` after
either, whose messages go to every live session.

The framed phase after a HELLO is session.py; the link table is links.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import structlog

from e27bridge.protocol.cleartext import dumps
from e27bridge.protocol.errors import PanelErrorCode
from e27bridge.protocol.identity import LinkKeys
from e27bridge.protocol.linking import LinkRequest, derive_link_proof
from e27bridge.protocol.phases import (
    Connection,
    Dropped,
    Event,
    FramingProblem,
    HelloRequested,
    LinkRequested,
    Overflowed,
    Received,
    Role,
)
from e27bridge.simulator.faults import FaultState
from e27bridge.simulator.links import LinkTable
from e27bridge.simulator.panel import SessionAuth
from e27bridge.simulator.session import PanelModel, Session
from e27bridge.simulator.stats import ServerStats

log = structlog.get_logger("e27bridge.simulator.server")

# A client that does not read its replies is cut off rather than buffered without bound.
MAX_WRITE_BUFFER = 4 * 1024 * 1024
# Long enough that a client really reads the two banner objects separately.
BANNER_SPLIT_PAUSE = 0.05

SessionPolicy = Literal["refuse", "replace"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything the TCP server needs from the simulator configuration."""

    access_code: str = field(repr=False)
    passphrase: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    link_slots: int = 8
    max_sessions: int = 8
    session_policy: SessionPolicy = "refuse"
    strict: bool = False
    cleartext_timeout: float = 30.0  # idle limit before HELLO (also after a silent api_link)
    idle_timeout: float = 0.0  # close a session silent for this long (0 = never)


def _local_time() -> str:
    return time.strftime("%Y/%m/%d,%H:%M:%S", time.localtime())


class PanelServer:
    """Listens on one TCP port and runs every client connection of the simulated panel."""

    def __init__(
        self,
        panel: PanelModel,
        settings: ServerSettings,
        *,
        faults: FaultState | None = None,
        stats: ServerStats | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.panel = panel
        self.settings = settings
        self.faults = faults or FaultState()
        self.stats = stats or ServerStats()
        self.rng = rng or random.Random()
        self.clock = clock
        self.links = LinkTable(settings.link_slots)
        self.session_policy: SessionPolicy = settings.session_policy
        self.strict = settings.strict
        self.host = settings.host
        self.port = settings.port
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._sessions: dict[str, Session] = {}
        self._timer_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._timer_deadline: float | None = None
        self._background: set[asyncio.Task[Any]] = set()
        # Called after every request, timer run and link change (the state file hooks in).
        self.after_change: Callable[[], None] = lambda: None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        await self.listen(self.port)
        self._timer_task = asyncio.create_task(self._timer_loop(), name="sim-timer")

    async def listen(self, port: int) -> int:
        """Start accepting on ``port`` (0 = a free one); returns the bound port."""
        if self._server is not None:
            raise RuntimeError("already listening")
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Connection(self), self.host, port, reuse_address=True
        )
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        log.info("sim_listening", host=self.host, port=self.port)
        return self.port

    async def stop_listening(self, reason: str) -> None:
        """Close the port and every connection on it (panel restart, IP change, shutdown)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self._connections):
            conn.abort(reason)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        log.info("sim_stopped_listening", port=self.port, reason=reason)

    async def close(self) -> None:
        await self.stop_listening("shutdown")
        tasks = [t for t in (self._timer_task, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timer_task = None

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- run-time faults -------------------------------------------------------------------

    async def restart(self, down_for: float) -> None:
        """Drop every session, keep the port closed for ``down_for`` s, listen again on it."""
        port = self.port
        self.stats.faults_injected["restart"] += 1
        await self.stop_listening("restart")
        await asyncio.sleep(down_for)
        await self.listen(port)

    async def move_to_port(self, port: int) -> int:
        """An IP/port change: drop everything on the old port, listen on the new one."""
        self.stats.faults_injected["move_to_port"] += 1
        await self.stop_listening("moved")
        return await self.listen(port)

    def revoke_link(self, sn: str | None = None, *, close_sessions: bool = False) -> list[str]:
        removed = self.links.revoke(sn)
        self.stats.faults_injected["revoke_link"] += len(removed)
        self.after_change()
        if close_sessions:
            for key in removed:
                session = self._sessions.get(key)
                if session is not None:
                    session.conn.abort("link_revoked")
        return removed

    def drop_sessions(self, reason: str = "dropped") -> int:
        sessions = list(self._sessions.values())
        for session in sessions:
            session.conn.abort(reason)
        return len(sessions)

    @property
    def live_sessions(self) -> int:
        return len(self._sessions)

    # -- panel glue ------------------------------------------------------------------------

    def panel_changed(self) -> None:
        """Call after anything that may queue broadcasts or move the next timer deadline."""
        self.flush_broadcasts()
        self.after_change()
        deadline = self.panel.next_deadline()
        if deadline is not None and (
            self._timer_deadline is None or deadline < self._timer_deadline
        ):
            self._wake.set()

    def flush_broadcasts(self) -> None:
        messages = self.panel.take_broadcasts()
        if not messages:
            return
        payloads = [dumps(message) for message in messages]
        for session in list(self._sessions.values()):
            for payload in payloads:
                session.send_payload(payload)
                self.stats.broadcasts_sent += 1

    async def _timer_loop(self) -> None:
        while True:
            deadline = self.panel.next_deadline()
            self._timer_deadline = deadline
            timeout = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                self.panel.advance(self.clock())
                self.flush_broadcasts()
                self.after_change()
            except Exception:
                log.exception("sim_timer_failed")
                await asyncio.sleep(0.1)

    # -- connections -----------------------------------------------------------------------

    def connection_made(self, conn: _Connection) -> None:
        self._connections.add(conn)
        self.stats.connections_accepted += 1

    def connection_lost(self, conn: _Connection) -> None:
        self._connections.discard(conn)

    def session_opened(self, session: Session) -> None:
        self._sessions[session.sn] = session

    def session_closed(self, session: Session) -> None:
        if self._sessions.get(session.sn) is session:
            del self._sessions[session.sn]

    def live_session(self, sn: str) -> Session | None:
        return self._sessions.get(sn)


class _Connection(asyncio.Protocol):
    """One accepted TCP connection: cleartext phase, then (after HELLO) a session.

    A plain protocol rather than streams: bytes go straight from ``data_received`` through
    the deframer to the panel and back to the transport, with no task switch per request.
    """

    def __init__(self, server: PanelServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.peer = "?"
        self.nonce = secrets.token_hex(20)
        self.wire = Connection(Role.PANEL)  # the phases: banner, link or HELLO, frames
        self.session: Session | None = None
        self.closed = False
        self.close_reason: str | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._idle_limit: float | None = server.settings.cleartext_timeout

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they implement it.
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.server.connection_made(self)
        banner = self.wire.send_banner(self.nonce, _local_time())
        if self.server.faults.split_banner:
            cut = banner.index(b"}{") + 1
            self.write(banner[:cut])
            asyncio.get_running_loop().call_later(BANNER_SPLIT_PAUSE, self.write, banner[cut:])
        else:
            self.write(banner)
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        if self._idle is not None:
            self._arm_idle()
        try:
            self._dispatch(self.wire.receive(data))
        except Exception:
            log.exception("sim_connection_failed", peer=self.peer)
            self.abort("simulator_error")

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if not self.closed:
            self.closed = True
            self.close_reason = "client_closed"
        self.server.connection_lost(self)
        if self.session is not None:
            self.session.closed(self.close_reason or "closed")

    # -- helpers -----------------------------------------------------------------------------

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._idle_limit:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self._idle_limit, self.abort, "idle_timeout")

    def abort(self, reason: str) -> None:
        """Close abruptly (the simulated panel drops the socket)."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        if self.transport is not None:
            self.transport.abort()

    def write(self, data: bytes) -> None:
        transport = self.transport
        if self.closed or transport is None:
            return
        transport.write(data)
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("sim_client_not_reading", peer=self.peer)
            self.abort("write_buffer_full")

    def _dispatch(self, events: list[Event]) -> None:
        """Serve ``api_link`` and ``hello``; after a session starts the rest is framed."""
        stats = self.server.stats
        for event in events:
            if self.closed:
                return
            if isinstance(event, Received | Dropped | FramingProblem):
                if self.session is not None:
                    self.session.on_frame(event)
            elif isinstance(event, LinkRequested):
                self._api_link(event.request)
            elif isinstance(event, HelloRequested):
                self._hello(event)
            elif isinstance(event, Overflowed):
                stats.protocol_errors["cleartext_overflow"] += 1
                self.abort("cleartext_overflow")
            else:
                stats.protocol_errors["cleartext_unknown"] += 1

    def _api_link(self, request: LinkRequest | None) -> None:
        server, stats = self.server, self.server.stats
        if request is None:
            stats.links_refused["malformed"] += 1
            stats.protocol_errors["malformed_api_link"] += 1
            return
        proof = derive_link_proof(
            access_code=server.settings.access_code,
            passphrase=server.settings.passphrase,
            identity=request.identity,
            nonce=self.nonce,
            cnonce=request.cnonce,
        )
        if request.password.lower() != proof.password:
            # A real panel stays silent (observed); the client's only signal is its timeout.
            stats.links_refused["wrong_credentials"] += 1
            log.info("sim_link_refused", peer=self.peer, reason="wrong_credentials")
            return
        keys = LinkKeys(enc=secrets.token_hex(16), hmac=secrets.token_hex(20))
        if server.faults.link_table_full:
            stats.faults_injected["link_table_full"] += 1
        if server.faults.link_table_full or not server.links.add(request.identity.sn, keys):
            stats.links_refused["no_space"] += 1
            body: dict[str, Any] = {
                "error_code": int(PanelErrorCode.NOT_ENOUGH_SPACE),
                "error_message": "Not enough space",
            }
            log.info("sim_link_refused", peer=self.peer, reason="no_space")
        else:
            stats.links_made += 1
            body = {"enc": keys.enc, "hmac": keys.hmac, "error_code": 0}
            log.info("sim_link_made", peer=self.peer, sn=request.identity.sn)
            server.after_change()
        self.write(self.wire.reply_link(proof.tempkey_hex, body))

    def _hello(self, event: HelloRequested) -> None:
        if event.identity is None:
            self.server.stats.protocol_errors["malformed_hello"] += 1
            return
        refusal = self._hello_refusal(event.identity.sn, event.seq)
        if refusal is not None:
            reason, code, message, seq = refusal
            self.server.stats.sessions_refused[reason] += 1
            log.info("sim_hello_refused", peer=self.peer, sn=event.identity.sn, reason=reason)
            self.write(self.wire.refuse_hello(code, message, seq))
        else:
            self._open_session(event.identity.sn, event.seq)
        self._dispatch(self.wire.take_pending())  # what came after the HELLO

    def _hello_refusal(self, sn: str, seq: int) -> tuple[str, int, str | None, int | None] | None:
        """Why this HELLO gets no session (stats reason, code, message, seq), or None."""
        server, stats, faults = self.server, self.server.stats, self.server.faults
        if faults.hello_refusal == "no_session":
            stats.faults_injected["hello_no_session"] += 1
            return "fault_no_session", 0, None, seq
        if faults.hello_refusal == "rejected":
            stats.faults_injected["hello_rejected"] += 1
            return "fault_rejected", faults.hello_refusal_code, "rejected", seq
        if faults.link_revoked:
            stats.faults_injected["link_revoked"] += 1
        if faults.link_revoked or server.links.get(sn) is None:
            return "invalid_id", int(PanelErrorCode.INVALID_ID), "invalid_id", None
        existing = server.live_session(sn)
        if existing is not None:
            if server.session_policy == "refuse":
                return "duplicate_sn", 0, None, seq
            existing.conn.abort("replaced")
            existing.closed("replaced")
        if server.live_sessions >= server.settings.max_sessions:
            return "max_sessions", 0, None, seq
        return None

    def _open_session(self, sn: str, seq: int) -> None:
        server = self.server
        keys = server.links.get(sn)
        assert keys is not None
        session_id = secrets.randbits(32) or 1
        session = Session(self, self.server, sn, SessionAuth(session_id=session_id))
        self.session = session
        server.session_opened(session)
        self.write(
            self.wire.accept_hello(
                seq=seq,
                link_keys=keys,
                session_id=session_id,
                session_key=secrets.token_bytes(16),
                session_hmac=secrets.token_bytes(32),
            )
        )
        self._idle_limit = server.settings.idle_timeout or None
        self._arm_idle()
        log.info("sim_session_opened", peer=self.peer, sn=sn, session_id=session_id)
