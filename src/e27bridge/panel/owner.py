"""The owner of one panel: holds the current session, reconnects, composes the jobs.

One session is current at a time, and a new one starts only after the old one is retired;
traffic of a retired session is dropped. Reconnect (ADR-0113): a quick retry at the last
host, then rediscovery by MAC with capped jittered backoff. Beside it: ``locator`` (which
address is our panel, ADR-0003/0007), ``first_link``, ``keepalive``, ``command_policy`` and
``statekeeper``. Its tasks run under the ``Supervisor``: a bug is an internal error.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import structlog

from e27bridge.panel import command_policy
from e27bridge.panel.bootstrap import BootstrapFailed, Bootstrapper, bootstrap_until
from e27bridge.panel.bus import EventBus, Subscription
from e27bridge.panel.commands import Command, CommandResult
from e27bridge.panel.confirm import Confirmations
from e27bridge.panel.eventlog import EventLogFollower
from e27bridge.panel.first_link import FirstLink, Linker
from e27bridge.panel.inventory import InventoryFile, InventoryKeeper
from e27bridge.panel.keepalive import Keepalive
from e27bridge.panel.locator import HintStore, PanelLocator, refusal_reason
from e27bridge.panel.queue import Priority, RequestQueue
from e27bridge.panel.session import HelloFailed, Session
from e27bridge.panel.settings import PanelSettings, ReconnectPolicy
from e27bridge.panel.state import ConnectionState, LinkHealth, PanelInfo, PanelSnapshot
from e27bridge.panel.statekeeper import StateKeeper
from e27bridge.panel.tap import Tap
from e27bridge.protocol import requests
from e27bridge.protocol.errors import E27Error, LinkFailed
from e27bridge.protocol.hello import HelloLinkRequired, HelloOutcome
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.messages import Inbound
from e27bridge.supervisor import Incident, Supervisor

log = structlog.get_logger("e27bridge.panel")

# Re-exported: the composition root and the tests know these from here.
__all__ = ["Linker", "PanelOwner", "PanelSettings", "ReconnectPolicy"]


class PanelOwner:
    def __init__(
        self,
        settings: PanelSettings,
        identity: ClientIdentity,
        link_keys: LinkKeys | None,
        *,
        hints: HintStore | None = None,
        inventory: InventoryFile | None = None,
        linker: Linker | None = None,
        bus: EventBus | None = None,
        rng: random.Random | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.settings = settings
        self._identity = identity
        self._link_keys = link_keys
        self._bus = bus or EventBus()
        self._rng = rng or random.Random()
        self._supervisor = supervisor or Supervisor()
        info = PanelInfo(settings.mac, host=settings.host, port=settings.port)
        self._state = StateKeeper(
            PanelSnapshot(settings.panel_id, info), self._bus, self._poke_eventlog
        )
        policy = settings.reconnect
        self._locator = PanelLocator(
            panel_id=settings.panel_id,
            mac=settings.mac,
            host=settings.host,
            port=settings.port,
            configured_host=settings.host,
            discovery_port=settings.discovery_port,
            broadcast=settings.broadcast,
            discovery_timeout=policy.discovery_timeout,
            verify_timeout=policy.verify_timeout,
            hints=hints,
            on_found=self._state.found,
        )
        self._first_link = FirstLink(linker, self._locator)  # first start only
        self._session: Session | None = None
        self._session_ended: asyncio.Event | None = None
        self._session_broke = False  # the current session ended by an internal error
        self._queue: RequestQueue | None = None
        self._confirmations: Confirmations | None = None
        self._inventory = InventoryKeeper(settings.inventory_max_age, inventory)  # ADR-0014
        self._keepalive: Keepalive | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = False
        self._reconnects = 0
        self._last_error: str | None = None
        self._streak_warned = False
        self._eventlog: EventLogFollower | None = None
        self.taps: list[Tap] = []

    # --- PanelHandle ----------------------------------------------------------------

    @property
    def panel_id(self) -> str:
        return self.settings.panel_id

    @property
    def mac(self) -> str:
        return self.settings.mac

    @property
    def snapshot(self) -> PanelSnapshot:
        return self._state.snapshot

    def subscribe(self) -> Subscription:
        return self._bus.subscribe()

    @property
    def queue(self) -> RequestQueue:
        assert self._queue is not None, "owner not started"
        return self._queue

    async def submit(self, command: Command) -> CommandResult:
        # No health update (a snapshot) per command: the keepalive refreshes health.
        return await command_policy.execute(
            self.queue,
            self.snapshot,
            command,
            max_age=self.settings.queue.command_max_age,
            confirmations=self._confirmations,
        )

    @property
    def confirming(self) -> int:
        """Commands waiting to learn their entity's new state (ADR-0010)."""
        return self._confirmations.pending if self._confirmations is not None else 0

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        unit = f"queue:{self.panel_id}"
        self._queue = RequestQueue(self.settings.queue, self._link_check, self._report, unit)
        self._queue.taps = self.taps  # the traffic tap's listeners (panels[].tap)
        self._confirmations = Confirmations()
        self._eventlog = EventLogFollower(
            self._queue, self._state.log_entry, lambda run: self._spawn("eventlog", run)
        )
        policy = self.settings.reconnect
        self._keepalive = Keepalive(
            self._queue,
            self.panel_id,
            after=policy.keepalive_after,
            timeout=policy.keepalive_timeout,
        )
        self._task = self._spawn("owner", self._run, self._run_crashed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._retire()
        if self._queue is not None:
            await self._queue.close()
        if self._eventlog is not None:
            self._eventlog.stop()
        self._state.set_connection(ConnectionState.STOPPED, "stopped")

    def take_link_keys(self, keys: LinkKeys) -> bool:
        """Connect with keys that ``e27bridge link`` stored while this panel waited in
        ``link_required``, without a restart; False (and ignored) in any other state."""
        if self.snapshot.connection is not ConnectionState.LINK_REQUIRED:
            return False
        if self._task is not None and not self._task.done():
            return False
        self._link_keys = keys
        self._task = self._spawn("owner", self._run, self._run_crashed)
        return True

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the panel is READY (tests and the CLI)."""
        await self.wait_state(ConnectionState.READY, timeout)

    async def wait_state(self, state: ConnectionState, timeout: float) -> None:
        await self._state.wait_for(state, timeout)

    def _spawn(
        self,
        job: str,
        run: Callable[[], Awaitable[None]],
        on_crash: Callable[[Incident], None] | None = None,
    ) -> asyncio.Task[None]:
        unit = f"{job}:{self.panel_id}"
        return self._supervisor.start(unit, run, on_crash=on_crash or self._crashed)

    # --- connection loop ------------------------------------------------------------

    async def _run(self) -> None:
        await self._retire()  # a restart after an internal error starts clean
        failures = 0
        while True:
            if self._link_keys is None and not await self._link(failures):
                if not self._first_link.available:
                    return  # link_required: waiting for `e27bridge link`, no loop
                failures += 1
                await asyncio.sleep(self.settings.reconnect.backoff(failures, self._rng))
                continue
            try:
                await self._connect_once(rediscover=failures > 0)
            except HelloFailed as exc:
                if self._link_rejected(exc.outcome):
                    return
                failures += 1
                self._failure(refusal_reason(exc.outcome, self._locator.host), alert=True)
                floor = self.settings.reconnect.refused_backoff
                await asyncio.sleep(self.settings.reconnect.backoff(failures, self._rng, floor))
                continue
            except (E27Error, OSError) as exc:
                failures += 1
                self._failure(str(exc))
                if failures > 1:  # one quick retry, then rediscovery by MAC with backoff
                    await asyncio.sleep(self.settings.reconnect.backoff(failures - 1, self._rng))
                continue
            failures = await self._session_over(failures)

    def _link_rejected(self, outcome: HelloOutcome) -> bool:
        """11006/11008 from a panel whose MAC we verified: stop in ``link_required``."""
        if not (isinstance(outcome, HelloLinkRequired) and self._locator.verified):
            return False  # ADR-0007: no verdict from an address we could not verify
        self._link_keys = None
        self._last_error = f"link rejected ({outcome.code})"
        self._link_required(
            self._last_error,
            error_code=outcome.code,  # "code" would be redacted as a PIN
            hint="the panel no longer accepts this bridge's link keys: run `e27bridge link` again",
        )
        return True

    async def _session_over(self, failures: int) -> int:
        """Wait for the session to end, retire it; returns the failure count to go on with."""
        assert self._session_ended is not None
        await self._session_ended.wait()
        was_ready, self._ready = self._ready, False
        broke, self._session_broke = self._session_broke, False
        await self._retire()
        self._reconnects += 1
        self._state.set_connection(ConnectionState.DISCONNECTED, self._last_error)
        log.info("connection_lost", panel=self.panel_id, reason=self._last_error)
        if was_ready and not broke:
            self._streak_warned = False
            return 0
        # The session died before it was ready, or by a bug: back off like a failed connect.
        failures += 1
        self._failure(self._last_error or "session ended during bootstrap")
        await asyncio.sleep(self.settings.reconnect.backoff(failures, self._rng))
        return failures

    async def _link(self, failures: int) -> bool:
        """First start: link with the configured credentials; False to retry later or stop."""
        if not self._first_link.available:
            self._link_required("no link keys stored", hint="run `e27bridge link` for this panel")
            return False
        try:
            self._link_keys = await self._first_link.link(rediscover=failures > 0)
        except LinkFailed as exc:
            self._last_error = str(exc)
            self._link_required(str(exc), event="link_failed")
            return False
        except (E27Error, OSError) as exc:
            self._failure(str(exc))
            return False
        log.info("linked", panel=self.panel_id, mac=self.mac)
        return True

    def _link_required(
        self, reason: str, *, event: str = "link_required", **fields: object
    ) -> None:
        self._state.set_connection(ConnectionState.LINK_REQUIRED, reason)
        log.error(event, panel=self.panel_id, mac=self.mac, reason=reason, **fields)

    def _failure(self, reason: str, *, alert: bool = False) -> None:
        self._last_error = reason
        if not self._streak_warned:
            self._streak_warned = True
            log.warning(
                "panel_unreachable", panel=self.panel_id, mac=self.mac, reason=reason, alert=alert
            )
        else:
            log.debug("panel_retry_failed", panel=self.panel_id, reason=reason)
        if self.snapshot.connection is ConnectionState.READY:
            self._state.set_connection(ConnectionState.DISCONNECTED, reason)
        self._update_health()

    async def _connect_once(self, *, rediscover: bool) -> None:
        self._state.set_connection(
            ConnectionState.CONNECTING
            if self.snapshot.connection is not ConnectionState.DISCONNECTED
            else ConnectionState.DISCONNECTED,
            None,
        )
        host, port = await self._locator.locate(rediscover=rediscover)
        assert self._link_keys is not None
        ended = asyncio.Event()
        session = Session(
            host,
            port,
            self._identity,
            self._link_keys,
            on_message=self._on_message,
            on_closed=self._on_closed,
            on_error=self._on_session_error,
            timeouts=self.settings.timeouts,
        )
        self._session, self._session_ended = session, ended
        try:
            await session.open()
        except BaseException:
            self._session = None
            raise
        log.info("session_open", panel=self.panel_id, host=host, port=port)
        self.queue.attach(session.send)
        self._keepalive_task = self._spawn("keepalive", lambda: self._keep_alive(session))
        self._state.set_connection(ConnectionState.CONNECTING, "bootstrapping")
        info = replace(self.snapshot.info, host=self._locator.host, port=self._locator.port)
        try:
            bootstrapper = Bootstrapper(self.queue, self.panel_id, info, self._inventory.previous())
            result = await bootstrap_until(bootstrapper, ended)
        except BootstrapFailed as exc:
            self._last_error = f"bootstrap failed: {exc}"
            await session.close()
            return
        if result is None:
            return
        self._state.install(result.snapshot)
        self._inventory.keep(result.inventory)
        assert self._eventlog is not None
        self._eventlog.start_at(result.log_newest)  # nothing older is replayed
        self._ready = True
        # A fresh read: trustworthy again, and its round trips give the RTT, so the ready
        # snapshot has every diagnostic (Homie declares a property once it has a value).
        self._update_health(internal_error=None)
        self._state.set_connection(ConnectionState.READY, None)
        log.info(
            "panel_ready",
            panel=self.panel_id,
            requests=result.requests,
            zones=len(self.snapshot.zones),
            areas=len(self.snapshot.areas),
        )

    async def _retire(self) -> None:
        """Retire the current session explicitly before any other may start."""
        session, self._session = self._session, None
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive_task
            self._keepalive_task = None
        if self._queue is not None:
            self._queue.detach()
        if session is not None:
            await session.close()

    async def _keep_alive(self, session: Session) -> None:
        assert self._keepalive is not None
        await self._keepalive.run(
            lambda: session is self._session, session.close, self._update_health
        )

    # --- callbacks from the current session only ------------------------------------

    def _on_message(self, session: Session, message: Inbound) -> None:
        if session is not self._session:
            return  # late traffic of a retired session
        if message.domain == "authenticate" and message.session_id and not message.error_code:
            session.adopt_session_id(message.session_id)
        self.queue.on_message(message)
        if self._confirmations is not None:
            self._confirmations.seen(message)
        if not self._ready:
            return
        try:
            if self._state.fold(message):
                self.queue.enqueue(requests.all_zones_status(), Priority.BACKGROUND)
        except Exception as exc:  # a bug here is ours, never the panel's
            self._report(f"engine:{self.panel_id}", exc, domain=message.domain)

    def _on_session_error(self, session: Session, exc: Exception) -> None:
        current = session is self._session
        self._session_broke = self._session_broke or current
        self._report(f"session:{self.panel_id}", exc, current=current)

    def _on_closed(self, session: Session, reason: str) -> None:
        if session is not self._session:
            return
        self._last_error = reason
        if self._queue is not None:
            self._queue.detach()
        if self._session_ended is not None:
            self._session_ended.set()

    def _link_check(self) -> None:
        if self._keepalive is not None:
            self._keepalive.check_now()

    def _poke_eventlog(self) -> None:
        if self._ready and self._eventlog is not None:
            self._eventlog.poke()

    # --- internal errors and health -------------------------------------------------

    def _report(self, unit: str, exc: BaseException, **context: object) -> None:
        """An internal error that the owner survives: log, record, alert."""
        self._crashed(self._supervisor.report(unit, exc, panel=self.panel_id, **context))

    def _run_crashed(self, incident: Incident) -> None:
        """The connection loop raised; the supervisor restarts it after a back-off."""
        self._ready = False
        self._last_error = incident.summary
        if self._queue is not None:
            self._queue.detach()
        self._state.set_connection(ConnectionState.DISCONNECTED, incident.summary)
        self._crashed(incident)

    def _crashed(self, incident: Incident) -> None:
        """Make an internal error visible on this panel (``$alert``, event, health)."""
        self._state.event("internal_error", {"unit": incident.unit, "error": incident.error})
        self._update_health(internal_error=incident.summary)

    @property
    def live_health(self) -> LinkHealth:
        """The diagnostics now; the snapshot's copy is refreshed at its publish points only."""
        return replace(self.snapshot.health, **self._health_now())

    def _health_now(self) -> dict[str, Any]:
        queue = self._queue
        return {
            "rtt_ms": queue.rtt_ms if queue else None,
            "queue_depth": queue.depth if queue else 0,
            "reconnects": self._reconnects,
            "last_error": self._last_error,
        }

    def _update_health(self, **extra: str | None) -> None:
        self._state.update_health(**self._health_now(), **extra)
