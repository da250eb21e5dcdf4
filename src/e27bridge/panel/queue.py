"""The per-panel request queue: exactly one request awaits a reply at any time (ADR-0111).

A request ends on its reply, its timeout, or connection loss, and only that end releases the
queue, exactly once; a reply after the timeout matches nothing and releases nothing. Pacing
(a minimum interval between frames) only delays the next send; it never ends a request.
Reads are retried; a write whose reply never came is ``unknown`` and never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable

import structlog

from e27bridge.panel.commands import Outcome
from e27bridge.panel.queue_model import Priority, QueueItem, QueueResult, QueueSettings
from e27bridge.panel.rtt_backoff import Change, RttBackoff
from e27bridge.panel.tap import Tap, inbound_record, request_record
from e27bridge.protocol.correlator import Correlator, Ended, EndReason
from e27bridge.protocol.errors import PanelErrorCode, TransportError, reason_for
from e27bridge.protocol.messages import Inbound, SeqAllocator
from e27bridge.protocol.requests import RequestSpec

__all__ = ["Outcome", "Priority", "QueueResult", "QueueSettings", "RequestQueue"]

log = structlog.get_logger("e27bridge.queue")

Sender = Callable[[int, RequestSpec], None]  # writes at once; raises TransportError
Listener = Callable[[RequestSpec, "QueueResult"], None]


class RequestQueue:
    """Driven by its events, not by a task: a reply, a deadline, a connection loss, a new
    request or the end of a pacing gap or rest each run ``_kick``, which sends the next request at
    once when the slot is free and pacing allows. So the next request leaves in the same
    step as the reply that freed the slot, before the bridge does anything else with that
    reply (publishing its result), and the panel is busy while the bridge works."""

    def __init__(
        self,
        settings: QueueSettings | None = None,
        on_silent_timeout: Callable[[], None] | None = None,
        on_internal_error: Callable[[str, BaseException], None] | None = None,
        unit: str = "queue",
    ) -> None:
        """``on_internal_error(unit, exc)`` is told of a bug in sending; the queue goes on."""
        self.settings = settings or QueueSettings()
        self._loop = asyncio.get_running_loop()
        self._pending: tuple[deque[QueueItem], ...] = tuple(deque() for _ in Priority)
        self._coalesced: dict[tuple[str, str | None, str], QueueItem] = {}
        self._correlator = Correlator()
        self._seqs = SeqAllocator()
        self._sender: Sender | None = None
        self._in_flight: QueueItem | None = None
        self._deadline: asyncio.TimerHandle | None = None  # the in-flight request's
        self._wake: asyncio.TimerHandle | None = None  # the end of a pacing gap or backoff
        self._last_sent = float("-inf")
        self._last_reply = float("-inf")
        self._rtt_backoff = RttBackoff(self.settings.rtt_backoff)
        self._resume_at = float("-inf")  # nothing is sent before (busy/timeout backoff)
        self._settling = False  # while an end is handled, the next send waits for its end
        self._on_silent_timeout = on_silent_timeout
        self._on_internal_error = on_internal_error
        self._unit = unit
        self._closed = False
        self._refused = 0  # requests refused in the current full spell (one warning each spell)
        self._hold: object | None = None  # while set, only this unit's requests are sent
        self._hold_lock = asyncio.Lock()
        self.sent_total = 0
        self.last_rtt: float | None = None
        self.listeners: list[Listener] = []  # told of every request's end (metrics)
        self.taps: list[Tap] = []  # told of every request sent and message received

    # --- lifecycle ----------------------------------------------------------------

    async def close(self) -> None:
        """Fail everything still waiting as ``unavailable``; nothing is sent any more."""
        self._closed = True
        self.detach()
        for timer in (self._wake, self._deadline):
            if timer is not None:
                timer.cancel()
        for item in self._drain():
            self._resolve(item, QueueResult(Outcome.UNAVAILABLE, reason="bridge stopping"))

    def attach(self, sender: Sender) -> None:
        """A session became current: resume sending through it."""
        self._sender = sender
        self._kick()

    def detach(self) -> None:
        """The session is gone: the in-flight request ends by connection loss; pause."""
        self._sender = None
        ended = self._correlator.connection_lost(self._loop.time())
        if ended is not None:
            self._handle_end(ended)

    @property
    def attached(self) -> bool:
        return self._sender is not None

    @property
    def depth(self) -> int:
        return sum(len(q) for q in self._pending) + (1 if self._in_flight is not None else 0)

    @property
    def rtt_ms(self) -> float | None:
        """The last round trip in milliseconds (one decimal), None before any reply."""
        return round(self.last_rtt * 1000, 1) if self.last_rtt is not None else None

    @property
    def rest(self) -> float:
        """The panel's rest after each reply while its RTTs rise, 0 when well (ADR-0015)."""
        return self._rtt_backoff.extra

    @property
    def last_received_at(self) -> float | None:
        return self._correlator.last_received_at

    # --- submitting ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[object]:
        """One unit of several requests (arm with bypass): while held, only requests
        submitted with its ``hold`` are sent; the rest wait. Units run one at a time."""
        async with self._hold_lock:
            hold = object()
            self._hold = hold
            try:
                yield hold
            finally:
                self._hold = None
                self._kick()

    async def submit(
        self,
        spec: RequestSpec,
        priority: Priority = Priority.NORMAL,
        *,
        reply_timeout: float | None = None,
        max_age: float | None = None,
        hold: object | None = None,
    ) -> QueueResult:
        future = self.enqueue(
            spec, priority, reply_timeout=reply_timeout, max_age=max_age, hold=hold
        )
        return await asyncio.shield(future)

    def enqueue(
        self,
        spec: RequestSpec,
        priority: Priority = Priority.NORMAL,
        *,
        reply_timeout: float | None = None,
        max_age: float | None = None,
        hold: object | None = None,
    ) -> asyncio.Future[QueueResult]:
        future: asyncio.Future[QueueResult] = self._loop.create_future()
        if self._closed:
            future.set_result(QueueResult(Outcome.UNAVAILABLE, reason="bridge stopping"))
            return future
        key = spec.coalesce_key
        if key is not None and key in self._coalesced:
            return self._coalesced[key].future
        if sum(len(q) for q in self._pending) >= self.settings.depth:
            future.set_result(QueueResult(Outcome.REJECTED, reason="queue_full"))
            if not self._refused:
                log.warning("queue_full", route=spec.route, depth=self.settings.depth)
            self._refused += 1
            return future
        if self._refused:
            log.info("queue_full_ended", refused=self._refused)
            self._refused = 0
        item = QueueItem(
            spec,
            priority,
            reply_timeout or self.settings.request_timeout,
            max_age,
            self._loop.time(),
            future,
            hold=hold,
        )
        if max_age is not None:
            item.expiry = self._loop.call_later(max_age, self._expire, item)
        if key is not None:
            self._coalesced[key] = item
        self._pending[priority].append(item)
        self._kick()
        return future

    def withdraw(self, future: asyncio.Future[QueueResult]) -> None:
        """Take a request that is still waiting out of the queue (its caller gave up)."""
        for queue in self._pending:
            for item in queue:
                if item.future is future:
                    queue.remove(item)
                    self._resolve(item, QueueResult(Outcome.UNAVAILABLE, reason="withdrawn"))
                    return

    def _expire(self, item: QueueItem) -> None:
        queue = self._pending[item.priority]
        if item in queue:
            queue.remove(item)
            self._resolve(item, QueueResult(Outcome.EXPIRED, reason="command_max_age exceeded"))

    # --- inbound ------------------------------------------------------------------

    def on_message(self, message: Inbound) -> bool:
        """Feed every inbound message; True when it was the awaited reply (which sends the
        next request before this returns, pacing permitting)."""
        if self.taps:
            record = inbound_record(message)
            for tap in self.taps:
                tap(record)
        ended = self._correlator.received(message, self._loop.time())
        if ended is None:
            return False
        self._handle_end(ended)
        return ended.reason is EndReason.REPLY

    # --- sending ------------------------------------------------------------------

    def _next_item(self) -> QueueItem | None:
        for queue in self._pending:
            if self._hold is not None:  # a unit holds the queue: only its own requests
                item = next((i for i in queue if i.hold is self._hold), None)
                if item is not None:
                    queue.remove(item)
                    return item
                continue
            while queue:
                item = queue.popleft()
                if not item.future.done():
                    return item
        return None

    def _requeue_front(self, item: QueueItem) -> None:
        self._pending[item.priority].appendleft(item)

    def _kick(self) -> None:
        """Send the next request now if the slot is free and pacing allows, else wake up
        when the gap ends. Every event that may free the slot or add work calls this."""
        if self._closed or self._settling or self._sender is None or self._in_flight is not None:
            return
        if not any(self._pending):
            return
        ready_at = max(
            self._last_sent + self.settings.min_interval,
            self._last_reply + self._rtt_backoff.extra,
            self._resume_at,
        )
        if self._loop.time() < ready_at:
            if self._wake is None or self._wake.when() != ready_at:
                if self._wake is not None:
                    self._wake.cancel()
                self._wake = self._loop.call_at(ready_at, self._woken)
            return
        item = self._next_item()
        if item is not None:  # None: only requests outside a held unit wait
            self._send(item)

    def _woken(self) -> None:
        self._wake = None
        self._kick()

    def _send(self, item: QueueItem) -> None:
        sender = self._sender
        assert sender is not None
        if item.expiry is not None:
            item.expiry.cancel()
        seq = self._seqs.next()
        item.attempts += 1
        # In flight from the moment the frame is handed over: its reply may arrive while
        # the write is still draining.
        self._last_sent = self._loop.time()
        self._correlator.sent(seq, self._last_sent, item.timeout)
        self._in_flight = item
        self._deadline = self._loop.call_at(self._last_sent + item.timeout, self._on_deadline)
        if self.taps:  # before the write: its reply may arrive while the write drains
            record = request_record(seq, item.spec)
            for tap in self.taps:
                tap(record)
        try:
            sender(seq, item.spec)
        except TransportError as exc:  # the session may have detached us already
            ended = self._correlator.connection_lost(self._loop.time())
            if ended is not None:
                self._handle_end(ended, f"send failed: {exc}")
            return
        except Exception as exc:
            # A bug: its caller gets one result, the slot is freed, it is reported and
            # the queue goes on with the next request.
            if self._correlator.connection_lost(self._loop.time()) is not None:
                self._clear_in_flight()
            self._resolve(item, QueueResult(Outcome.UNKNOWN, reason="internal_error"))
            if self._on_internal_error is None:
                raise
            self._on_internal_error(self._unit, exc)
            self._loop.call_soon(self._kick)
            return
        self.sent_total += 1
        log.debug("request_sent", route=item.spec.route, seq=seq, attempt=item.attempts)

    # --- the end of a request -----------------------------------------------------

    def _on_deadline(self) -> None:
        self._deadline = None
        ended = self._correlator.poll(self._loop.time())
        if ended is not None:
            self._handle_end(ended)
        elif self._correlator.busy:  # woken a clock tick early
            deadline = self._correlator.deadline()
            assert deadline is not None
            self._deadline = self._loop.call_at(deadline, self._on_deadline)

    def _clear_in_flight(self) -> QueueItem | None:
        item, self._in_flight = self._in_flight, None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        return item

    def _handle_end(self, ended: Ended, loss_reason: str = "connection lost") -> None:
        """The one end of the in-flight request (the correlator gives it exactly once)."""
        item = self._clear_in_flight()
        assert item is not None
        self._settling = True
        try:
            if ended.reason is EndReason.REPLY:
                self._last_reply = ended.ended_at
                self._observe_rtt(ended.rtt)
                self._after_reply(item, ended)
            elif ended.reason is EndReason.TIMEOUT:
                self._after_timeout(item, ended)
            else:
                self._after_loss(item, loss_reason)
        finally:
            self._settling = False
        self._kick()

    def _observe_rtt(self, rtt: float) -> None:
        self.last_rtt = rtt
        backoff = self._rtt_backoff
        change = backoff.observe(rtt)
        if change is None:
            return
        assert backoff.baseline is not None and backoff.recent is not None
        figures = {
            "rtt_ms": round(backoff.recent * 1000, 1),
            "baseline_ms": round(backoff.baseline * 1000, 1),
            "rest_ms": round(self.rest * 1000, 1),
        }
        if change is Change.STARTED:
            log.warning("rtt_backoff_started", **figures)
        else:
            log.info("rtt_backoff_ended", **figures)

    def _after_reply(self, item: QueueItem, ended: Ended) -> None:
        reply = ended.reply
        assert reply is not None
        busy = reply.error_code == PanelErrorCode.ZWAVE_BUSY and not item.spec.at_most_once
        if busy and item.busy_attempts < self.settings.busy_retries:
            item.busy_attempts += 1
            self._pause(self._backoff(item.busy_attempts))
            self._requeue_front(item)
            return
        if reply.error_code:
            self._resolve(
                item,
                QueueResult(
                    Outcome.REJECTED,
                    reply,
                    reply.error_code,
                    reply.error_message or reason_for(reply.error_code),
                    ended.rtt,
                ),
            )
        else:
            result = QueueResult(Outcome.OK, reply, rtt=ended.rtt, sent_at=ended.sent_at)
            self._resolve(item, result)

    def _after_timeout(self, item: QueueItem, ended: Ended) -> None:
        log.info("request_timeout", route=item.spec.route, attempt=item.attempts)
        if self._correlator.silent_since_sent(ended) and self._on_silent_timeout is not None:
            self._on_silent_timeout()
        if item.spec.retryable and item.attempts <= self.settings.read_retries:
            self._pause(self._backoff(item.attempts))
            self._requeue_front(item)
            return
        outcome = Outcome.UNKNOWN if not item.spec.is_read else Outcome.UNAVAILABLE
        self._resolve(item, QueueResult(outcome, reason="no reply from the panel"))

    def _after_loss(self, item: QueueItem, reason: str) -> None:
        if item.spec.retryable and item.attempts <= self.settings.read_retries:
            self._requeue_front(item)  # resent on the next session
            return
        outcome = Outcome.UNAVAILABLE if item.spec.is_read else Outcome.UNKNOWN
        self._resolve(item, QueueResult(outcome, reason=reason))

    def _pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the panel is busy, or a reply did not come)."""
        self._resume_at = self._loop.time() + seconds

    def _backoff(self, attempt: int) -> float:
        return float(
            min(self.settings.backoff_base * 2 ** (attempt - 1), self.settings.backoff_max)
        )

    def _resolve(self, item: QueueItem, result: QueueResult) -> None:
        key = item.spec.coalesce_key
        if key is not None and self._coalesced.get(key) is item:
            del self._coalesced[key]
        if item.expiry is not None:
            item.expiry.cancel()
        if not item.future.done():
            item.future.set_result(result)
            for listener in self.listeners:
                listener(item.spec, result)
            log.debug(
                "request_done",
                route=item.spec.route,
                outcome=result.outcome.value,
                code=result.code,
            )

    def _drain(self) -> list[QueueItem]:
        items = list(itertools.chain.from_iterable(self._pending))
        for queue in self._pending:
            queue.clear()
        return items
