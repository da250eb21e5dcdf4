"""The event-log follower on its own: a real simulated panel answers in-process, no TCP.

The follower only needs ``submit(spec, priority)``; ``PanelQueue`` answers it from a real
``SimulatedPanel`` through the real message codec, so the tests pin what is emitted when.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest
from structlog.testing import capture_logs

from e27bridge.panel import eventlog
from e27bridge.panel.eventlog import MAX_ENTRIES_PER_READ, EventLogFollower, announces_entry
from e27bridge.panel.events import EntityChanged, PanelEvent
from e27bridge.panel.kinds.area import Area, ArmMode
from e27bridge.panel.kinds.lock import Lock
from e27bridge.panel.kinds.zone import Zone
from e27bridge.panel.queue import Outcome, Priority, QueueResult
from e27bridge.panel.state import EntityKind, changed_fields
from e27bridge.protocol.messages import Inbound, PanelRequest, route_message
from e27bridge.protocol.models import LogEntry
from e27bridge.protocol.requests import RequestSpec
from e27bridge.simulator.config import profile_config
from e27bridge.simulator.panel import SessionAuth, SimulatedPanel
from waiting import tasks_named, wait_until

SESSION = 4242


class PanelQueue:
    """Stands in for the request queue; replies come from a real simulated panel."""

    def __init__(self) -> None:
        config = profile_config("small")
        config = dataclasses.replace(
            config, seed=3, activity=dataclasses.replace(config.activity, enabled=False)
        )
        self.now = 100.0
        self.panel = SimulatedPanel(config, now=self.now, rng=random.Random(3))
        self.auth = SessionAuth(session_id=SESSION)
        self.seq = 0
        self.routes: list[str] = []
        self.priorities: set[Priority] = set()
        self.gate: asyncio.Event | None = None  # set: replies wait for it
        self.mangle: dict[str, dict[str, Any]] = {}  # route -> body to answer instead
        self.refuse: set[str] = set()

    async def submit(self, spec: RequestSpec, priority: Priority = Priority.NORMAL) -> QueueResult:
        self.seq += 1
        self.routes.append(spec.route)
        self.priorities.add(priority)
        request = PanelRequest(self.seq, SESSION, spec.domain, spec.command, spec.args)
        reply = route_message(self.panel.handle(request, self.auth, self.now))
        if self.gate is not None:
            await self.gate.wait()
        if spec.route in self.refuse:
            return QueueResult(Outcome.REJECTED, code=11006, reason="refused")
        if spec.route in self.mangle:
            reply = dataclasses.replace(reply, body=self.mangle[spec.route])
        return QueueResult(Outcome.OK, reply=reply)

    def happen(self, count: int = 1) -> None:
        """``count`` new log entries (a trouble going active and restored in turn)."""
        for _ in range(count):
            active = "Trouble low battery active" not in self.texts()[-1:]
            self.panel.set_trouble("low battery", active, self.now)

    def texts(self) -> list[str]:
        body = self.answer("log", "get_list", {"start": 0, "date": 0, "cnt": 250}).body
        return list(reversed(body["text"]))  # oldest first

    def newest(self) -> int:
        return int(self.answer("log", "get_index", {}).body["newest"])

    def answer(self, domain: str, command: str, args: dict[str, Any]) -> Inbound:
        self.seq += 1
        request = PanelRequest(self.seq, SESSION, domain, command, args)
        return route_message(self.panel.handle(request, self.auth, self.now))


@pytest.fixture
def queue() -> PanelQueue:
    return PanelQueue()


def follower_for(queue: PanelQueue) -> tuple[EventLogFollower, list[LogEntry]]:
    emitted: list[LogEntry] = []
    return EventLogFollower(queue, emitted.append), emitted  # type: ignore[arg-type]


async def idle() -> None:
    await wait_until(lambda: not tasks_named("e27-eventlog"), "the log read to end")


async def test_the_first_read_only_notes_where_the_log_stands(queue: PanelQueue) -> None:
    queue.happen(3)
    follower, emitted = follower_for(queue)
    follower.start_at(None)  # the bootstrap did not read the index
    follower.poke()
    await idle()
    assert emitted == []  # history is never replayed
    assert queue.routes == ["log.get_index"]
    queue.happen()
    follower.poke()
    await idle()
    assert [e.text for e in emitted] == ["Trouble low battery restored"]


async def test_new_entries_are_emitted_once_oldest_first(queue: PanelQueue) -> None:
    queue.happen(2)
    follower, emitted = follower_for(queue)
    follower.start_at(queue.newest())
    queue.happen(3)
    follower.poke()
    await idle()
    assert [e.log_id for e in emitted] == [3, 4, 5]
    assert [e.text for e in emitted] == queue.texts()[2:]
    assert queue.priorities == {Priority.BACKGROUND}  # never ahead of a user's command
    follower.poke()  # nothing new: only the index is read
    await idle()
    assert len(emitted) == 3
    assert queue.routes[-1] == "log.get_index"


async def test_a_burst_emits_only_the_newest_entries(queue: PanelQueue) -> None:
    follower, emitted = follower_for(queue)
    follower.start_at(queue.newest())
    queue.happen(MAX_ENTRIES_PER_READ + 5)
    follower.poke()
    await idle()
    newest = queue.newest()
    assert [e.log_id for e in emitted] == list(range(newest - MAX_ENTRIES_PER_READ + 1, newest + 1))


async def test_a_poke_during_a_read_reads_again(queue: PanelQueue) -> None:
    follower, emitted = follower_for(queue)
    follower.start_at(queue.newest())
    queue.gate = asyncio.Event()
    follower.poke()  # this read's index reply says: nothing new
    await wait_until(lambda: queue.routes == ["log.get_index"], "the first index request")
    queue.happen()
    follower.poke()  # arrives while the first read waits for its reply
    queue.gate.set()
    await idle()
    assert [e.text for e in emitted] == ["Trouble low battery active"]
    assert len(tasks_named("e27-eventlog")) == 0


async def test_a_log_that_went_back_is_not_replayed(queue: PanelQueue) -> None:
    queue.happen(2)
    follower, emitted = follower_for(queue)
    follower.start_at(500)  # the panel's log was cleared since we noted 500
    follower.poke()
    await idle()
    assert emitted == []
    queue.happen()
    follower.poke()
    await idle()
    assert [e.log_id for e in emitted] == [3]


async def test_refused_and_malformed_replies_are_survived(queue: PanelQueue) -> None:
    follower, emitted = follower_for(queue)
    follower.start_at(queue.newest())
    queue.happen()
    queue.refuse.add("log.get_index")
    follower.poke()
    await idle()
    queue.refuse.clear()
    queue.mangle["log.get_list"] = {"id": 7, "error_code": 0}  # not a list
    with capture_logs() as logs:
        follower.poke()
        await idle()
    assert [e["event"] for e in logs] == ["eventlog_malformed"]  # handled, not a crash
    assert emitted == []
    queue.mangle.clear()
    queue.happen()
    follower.poke()
    await idle()
    assert [e.log_id for e in emitted] == [2]  # entry 1 went with the malformed listing


async def test_a_read_that_found_nothing_looks_once_more(
    queue: PanelQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A panel may write the entry just after the status broadcast that poked the read."""
    monkeypatch.setattr(eventlog, "RECHECK", 0.05)
    follower, emitted = follower_for(queue)
    follower.start_at(queue.newest())
    follower.poke()  # the entry is not there yet
    await wait_until(lambda: queue.routes == ["log.get_index"], "the first look")
    queue.happen()  # ...and now it is
    await wait_until(lambda: len(emitted) == 1, "the second look to find the entry")
    await idle()
    follower.poke()
    await wait_until(lambda: len(queue.routes) == 5, "a look and a second look")
    await asyncio.sleep(0.2)  # an absence takes time to see: four RECHECKs
    assert queue.routes[1:] == ["log.get_index", "log.get_list"] + ["log.get_index"] * 2
    follower.stop()


def test_the_changes_a_panel_logs_start_a_read() -> None:
    area = Area(1, "Area 1", arm_state=ArmMode.DISARMED)
    arming = dataclasses.replace(area, arm_cmd_state=ArmMode.ARMED_AWAY, ee_timer=60)
    ticking = dataclasses.replace(arming, ee_timer=59)
    zone = Zone(5, "Zone 5", violated=False, bypassed=False)

    def changed(kind: EntityKind, old: Any, new: Any) -> EntityChanged:
        return EntityChanged("p", kind, old.id, old, new, changed_fields(old, new))

    assert announces_entry(changed(EntityKind.AREA, area, arming))  # the exit delay began
    assert not announces_entry(changed(EntityKind.AREA, arming, ticking))
    assert announces_entry(changed(EntityKind.ZONE, zone, dataclasses.replace(zone, bypassed=True)))
    assert not announces_entry(
        changed(EntityKind.ZONE, zone, dataclasses.replace(zone, violated=True))
    )
    lock = Lock(1, "Lock 1", locked=False)
    assert announces_entry(changed(EntityKind.LOCK, lock, dataclasses.replace(lock, locked=True)))
    assert not announces_entry(EntityChanged("p", EntityKind.LOCK, 1, None, lock, ("locked",)))
    assert announces_entry(PanelEvent("p", "trouble", {}))
