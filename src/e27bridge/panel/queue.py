"""The per-panel request queue: exactly one request awaits a reply at any time (ADR-0111).

A request ends on its reply, its timeout, or connection loss, and only that end releases the
queue, exactly once; a reply after the timeout matches nothing and releases nothing. Pacing
(a minimum interval between frames) only delays the next send; it never ends a request.
Reads are retried; a write whose reply never came is ``unknown`` and never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from e27bridge.panel.commands import Outcome
from e27bridge.panel.tap import Tap, inbound_record, request_record
from e27bridge.protocol.correlator import Correlator, Ended, EndReason
from e27bridge.protocol.errors import PanelErrorCode, TransportError, reason_for
from e27bridge.protocol.messages import Inbound, SeqAllocator
from e27bridge.protocol.requests import RequestSpec

log = structlog.get_logger("e27bridge.queue")

Sender = Callable[[int, RequestSpec], Awaitable[None]]
Listener = Callable[[RequestSpec, "QueueResult"], None]
Spawn = Callable[[Callable[[], Awaitable[None]]], "asyncio.Task[None]"]


class Priority(enum.IntEnum):
    HIGH = 0  # keepalive, authenticate, disarm
    NORMAL = 1  # user commands
    BACKGROUND = 2  # bootstrap and refresh


@dataclass(frozen=True, slots=True)
class QueueSettings:
    depth: int = 64
    command_max_age: float = 10.0
    min_interval: float = 0.05
    request_timeout: float = 5.0
    read_retries: int = 2
    busy_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True, slots=True)
class QueueResult:
    outcome: Outcome
    reply: Inbound | None = None
    code: int | None = None
    reason: str | None = None
    rtt: float | None = None
    sent_at: float | None = None  # loop time the answered frame was sent

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass(eq=False)
class _Item:
    spec: RequestSpec
    priority: Priority
    timeout: float
    max_age: float | None
    enqueued_at: float
    future: asyncio.Future[QueueResult]
    attempts: int = 0
    busy_attempts: int = 0
    hold: object | None = None  # the exclusive unit it belongs to (``exclusive``)
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)


class RequestQueue:
    def __init__(
        self,
        settings: QueueSettings | None = None,
        *,
        on_silent_timeout: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings or QueueSettings()
        self._loop = asyncio.get_running_loop()
        self._pending: tuple[deque[_Item], ...] = tuple(deque() for _ in Priority)
        self._coalesced: dict[tuple[str, str | None, str], _Item] = {}
        self._correlator = Correlator()
        self._seqs = SeqAllocator()
        self._sender: Sender | None = None
        self._wakeup = asyncio.Event()
        self._ended: asyncio.Future[Ended] | None = None
        self._last_sent = float("-inf")
        self._on_silent_timeout = on_silent_timeout
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._hold: object | None = None  # while set, only this unit's requests are sent
        self._hold_lock = asyncio.Lock()
        self.sent_total = 0
        self.last_rtt: float | None = None
        self.listeners: list[Listener] = []  # told of every request's end (metrics)
        self.taps: list[Tap] = []  # told of every request sent and message received

    # --- lifecycle ----------------------------------------------------------------

    def start(self, spawn: Spawn | None = None) -> None:
        """Start the worker, under ``spawn`` (a supervisor) when given."""
        if self._worker is None:
            if spawn is None:
                self._worker = asyncio.create_task(self._run(), name="e27-queue")
            else:
                self._worker = spawn(self._run)

    async def close(self) -> None:
        """Fail everything still waiting as ``unavailable`` and stop the worker."""
        self._closed = True
        self.detach()
        for item in self._drain():
            self._resolve(item, QueueResult(Outcome.UNAVAILABLE, reason="bridge stopping"))
        self._wakeup.set()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    def attach(self, sender: Sender) -> None:
        """A session became current: resume sending through it."""
        self._sender = sender
        self._wakeup.set()

    def detach(self) -> None:
        """The session is gone: the in-flight request ends by connection loss; pause."""
        self._sender = None
        ended = self._correlator.connection_lost(self._loop.time())
        if ended is not None and self._ended is not None and not self._ended.done():
            self._ended.set_result(ended)

    @property
    def attached(self) -> bool:
        return self._sender is not None

    @property
    def depth(self) -> int:
        return sum(len(q) for q in self._pending) + (1 if self._correlator.busy else 0)

    @property
    def rtt_ms(self) -> float | None:
        """The last round trip in milliseconds (one decimal), None before any reply."""
        return round(self.last_rtt * 1000, 1) if self.last_rtt is not None else None

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
                self._wakeup.set()

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
            log.warning("queue_full", route=spec.route, depth=self.settings.depth)
            return future
        item = _Item(
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
        self._wakeup.set()
        return future

    def withdraw(self, future: asyncio.Future[QueueResult]) -> None:
        """Take a request that is still waiting out of the queue (its caller gave up)."""
        for queue in self._pending:
            for item in queue:
                if item.future is future:
                    queue.remove(item)
                    self._resolve(item, QueueResult(Outcome.UNAVAILABLE, reason="withdrawn"))
                    return

    def _expire(self, item: _Item) -> None:
        queue = self._pending[item.priority]
        if item in queue:
            queue.remove(item)
            self._resolve(item, QueueResult(Outcome.EXPIRED, reason="command_max_age exceeded"))

    # --- inbound ------------------------------------------------------------------

    def on_message(self, message: Inbound) -> bool:
        """Feed every inbound message; True when it was the awaited reply."""
        if self.taps:
            record = inbound_record(message)
            for tap in self.taps:
                tap(record)
        ended = self._correlator.received(message, self._loop.time())
        if ended is None:
            return False
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(ended)
        return ended.reason is EndReason.REPLY

    # --- the worker ---------------------------------------------------------------

    def _next_item(self) -> _Item | None:
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

    def _requeue_front(self, item: _Item) -> None:
        self._pending[item.priority].appendleft(item)

    async def _run(self) -> None:
        # ``wait_for`` in Python 3.11 can swallow a cancellation, so ``close`` also sets
        # ``_closed`` and wakes the loop: the worker always ends.
        while not self._closed:
            if self._sender is None or not any(self._pending):
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            item = self._next_item()
            if item is None:  # only requests outside the held unit wait: until it ends
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if item.expiry is not None:
                item.expiry.cancel()
            await self._pace()
            if not self.attached:
                self._requeue_front(item)
                continue
            try:
                await self._process(item)
            except Exception:
                # A bug: its caller gets one result, the slot is freed, the supervisor
                # reports it and restarts the worker.
                self._correlator.connection_lost(self._loop.time())
                self._ended = None
                self._resolve(item, QueueResult(Outcome.UNKNOWN, reason="internal_error"))
                raise

    async def _pace(self) -> None:
        wait = self._last_sent + self.settings.min_interval - self._loop.time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _process(self, item: _Item) -> None:
        sender = self._sender
        assert sender is not None
        seq = self._seqs.next()
        item.attempts += 1
        self._ended = self._loop.create_future()
        # In flight from the moment the frame is handed over: its reply may arrive while
        # the write is still draining.
        self._last_sent = self._loop.time()
        self._correlator.sent(seq, self._last_sent, item.timeout)
        if self.taps:  # before the write: its reply may arrive while the write drains
            record = request_record(seq, item.spec)
            for tap in self.taps:
                tap(record)
        try:
            await sender(seq, item.spec)
        except TransportError as exc:
            self._correlator.connection_lost(self._loop.time())
            self._ended = None
            self._after_loss(item, f"send failed: {exc}")
            return
        self.sent_total += 1
        log.debug("request_sent", route=item.spec.route, seq=seq, attempt=item.attempts)
        ended = await self._await_end()
        self._ended = None
        if ended.reason is EndReason.REPLY:
            assert ended.reply is not None
            self.last_rtt = ended.rtt
            await self._after_reply(item, ended)
        elif ended.reason is EndReason.TIMEOUT:
            await self._after_timeout(item, ended)
        else:
            self._after_loss(item, "connection lost")

    async def _await_end(self) -> Ended:
        assert self._ended is not None
        while True:
            deadline = self._correlator.deadline()
            remaining = 0.0 if deadline is None else max(0.0, deadline - self._loop.time())
            try:
                return await asyncio.wait_for(asyncio.shield(self._ended), remaining + 0.001)
            except TimeoutError:
                ended = self._correlator.poll(self._loop.time())
                if ended is not None:
                    return ended

    async def _after_reply(self, item: _Item, ended: Ended) -> None:
        reply = ended.reply
        assert reply is not None
        busy = reply.error_code == PanelErrorCode.ZWAVE_BUSY and not item.spec.at_most_once
        if busy and item.busy_attempts < self.settings.busy_retries:
            item.busy_attempts += 1
            await asyncio.sleep(self._backoff(item.busy_attempts))
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
            result = QueueResult(Outcome.OK, reply, rtt=ended.rtt, sent_at=self._last_sent)
            self._resolve(item, result)

    async def _after_timeout(self, item: _Item, ended: Ended) -> None:
        log.info("request_timeout", route=item.spec.route, attempt=item.attempts)
        if self._correlator.silent_since_sent(ended) and self._on_silent_timeout is not None:
            self._on_silent_timeout()
        if item.spec.retryable and item.attempts <= self.settings.read_retries:
            await asyncio.sleep(self._backoff(item.attempts))
            self._requeue_front(item)
            return
        outcome = Outcome.UNKNOWN if not item.spec.is_read else Outcome.UNAVAILABLE
        self._resolve(item, QueueResult(outcome, reason="no reply from the panel"))

    def _after_loss(self, item: _Item, reason: str) -> None:
        if item.spec.retryable and item.attempts <= self.settings.read_retries:
            self._requeue_front(item)  # resent on the next session
            return
        outcome = Outcome.UNAVAILABLE if item.spec.is_read else Outcome.UNKNOWN
        self._resolve(item, QueueResult(outcome, reason=reason))

    def _backoff(self, attempt: int) -> float:
        return float(
            min(self.settings.backoff_base * 2 ** (attempt - 1), self.settings.backoff_max)
        )

    def _resolve(self, item: _Item, result: QueueResult) -> None:
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

    def _drain(self) -> list[_Item]:
        items = list(itertools.chain.from_iterable(self._pending))
        for queue in self._pending:
            queue.clear()
        return items
