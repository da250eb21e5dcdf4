"""Bugs are bugs (issue 9): an engine error is an internal error, never the panel's doing;
a refusal from an unverified address is never a verdict on our link. Real TCP, real AES."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from e27bridge.daemon.keystore import KeyStore
from e27bridge.panel import session as session_module
from e27bridge.panel.bus import EventBus
from e27bridge.panel.commands import BypassZone, Outcome, SetOutput
from e27bridge.panel.events import ConnectionChanged, PanelEvent
from e27bridge.panel.linking import link
from e27bridge.panel.owner import PanelOwner
from e27bridge.panel.reducer import Reduction
from e27bridge.panel.state import ConnectionState
from e27bridge.protocol import requests
from e27bridge.protocol.identity import LinkKeys
from e27bridge.supervisor import Backoff, Supervisor

from .conftest import (
    FAST_RECONNECT,
    IDENTITY,
    link_to,
    linked_owner,
    record_requests,
    running,
    sim_config,
)

FAST_SUPERVISOR = Backoff(minimum=0.05, maximum=0.2)


async def next_event(sub: Any, wanted: type, timeout: float = 5.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            event = await sub.get()
            if isinstance(event, wanted):
                return event


async def test_engine_bug_is_an_internal_error_not_a_panel_close(
    simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        zone = min(owner.snapshot.zones)
        sessions = sim.stats_snapshot()["sessions_opened"]
        sub = owner.subscribe()

        def broken(self: Reduction, kind: Any, new: Any) -> None:
            raise TypeError("a bug in the reducer")

        with monkeypatch.context() as patch, capture_logs() as logs:
            patch.setattr(Reduction, "put", broken)
            sim.set_zone(zone, "open")
            event = await next_event(sub, PanelEvent)
        assert event.type == "internal_error" and "TypeError" in event.data["error"]
        assert "TypeError: a bug in the reducer" in (owner.snapshot.health.internal_error or "")
        errors = [e for e in logs if e["event"] == "internal_error"]
        assert errors and errors[0]["exc_info"] is not None  # the traceback is logged
        assert not [e for e in logs if e["event"] == "connection_lost"]
        # The session stays up: no "closed by panel", no reconnect, no full re-read.
        assert owner.snapshot.connection is ConnectionState.READY
        assert sim.stats_snapshot()["sessions_opened"] == sessions
        while sub.pending():
            assert not isinstance(await sub.get(), ConnectionChanged)
        sim.set_zone(zone, "closed")  # and the engine goes on folding updates
        async with asyncio.timeout(5):
            while owner.snapshot.zones[zone].violated is not False:
                await sub.get()


async def test_key_store_error_while_linking_is_caught_reported_and_retried(
    simulator: Any, tmp_path: Path
) -> None:
    async with simulator() as sim:
        template = await linked_owner(sim)
        state = tmp_path / "state"
        state.mkdir()
        (state / "links").write_text("a file where the links directory belongs")
        store = KeyStore(state)
        creds = sim.config.credentials

        async def linker(host: str, port: int) -> LinkKeys:
            keys = await link(
                host, port, IDENTITY, access_code=creds.access_code, passphrase=creds.passphrase
            )
            store.save_link(sim.mac, keys, IDENTITY)
            return keys

        supervisor = Supervisor(FAST_SUPERVISOR)
        bus = EventBus()
        sub = bus.subscribe()
        owner = PanelOwner(
            template.settings, IDENTITY, None, linker=linker, bus=bus, supervisor=supervisor
        )
        await owner.start()
        try:
            event = await next_event(sub, PanelEvent)
            assert event.type == "internal_error"
            assert f"owner:{owner.panel_id}" in supervisor.incidents
            assert "linking" in (owner.snapshot.health.internal_error or "")
            assert owner.snapshot.connection is not ConnectionState.READY
            (state / "links").unlink()  # the installation is fixed: the unit links again
            await owner.wait_ready(10)
            assert store.load_link(sim.mac) is not None
        finally:
            await owner.stop()


async def test_refusal_from_an_unverified_address_is_no_verdict(simulator: Any) -> None:
    """Discovery silent, another panel at the configured address answers HELLO 11006: the
    bridge keeps looking for its own panel by MAC and connects when it returns (ADR-0007)."""
    async with simulator() as ours, simulator() as foreign:
        template = await link_to(ours)
        settings = dataclasses.replace(template.settings, port=foreign.port)
        owner = PanelOwner(settings, IDENTITY, template.keys)
        states: list[ConnectionState] = []
        sub = owner.subscribe()
        away = asyncio.create_task(ours.restart(down_for=1.5))  # our panel is silent a while
        await asyncio.sleep(0)
        await owner.start()
        try:
            await owner.wait_ready(15)
            while sub.pending():
                event = await sub.get()
                if isinstance(event, ConnectionChanged):
                    states.append(event.new)
            assert foreign.stats_snapshot()["sessions_refused"] >= 1  # it did ask there
            assert ConnectionState.LINK_REQUIRED not in states
            assert owner.snapshot.info.port == ours.port
        finally:
            await away
            await owner.stop()


async def test_resend_after_authenticate_keeps_the_reply_timeout(simulator: Any) -> None:
    """A bypass ack may take 15 s; the resend after ``authenticate`` waits as long as the
    first send (it used to fall back to the queue's default)."""
    async with (
        simulator(sim_config(codes_need_authenticate=True)) as sim,
        running(await linked_owner(sim)) as owner,  # request_timeout 1 s
    ):
        zone = min(owner.snapshot.zones)
        pin = sim.config.inventory.users[0].pin
        handle = sim.panel.handle

        def slow_after_authenticate(request: Any, auth: Any, now: float) -> Any:
            reply = handle(request, auth, now)
            if request.domain == "authenticate":
                sim.set_faults(response_delay=1.5)  # only the resend is slow
            return reply

        sim.panel.handle = slow_after_authenticate  # type: ignore[method-assign]
        try:
            result = await owner.submit(BypassZone(zone, True, pin))
        finally:
            sim.clear_faults()
        assert result.outcome is Outcome.OK, result


async def test_a_crashing_keepalive_is_restarted_and_reported(
    simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with simulator() as sim:
        policy = dataclasses.replace(FAST_RECONNECT, keepalive_after=0.2)
        supervisor = Supervisor(FAST_SUPERVISOR)
        template = await link_to(sim, reconnect=policy)
        owner = PanelOwner(template.settings, IDENTITY, template.keys, supervisor=supervisor)
        async with running(owner):
            seen = record_requests(sim)
            keepalive = requests.keepalive
            calls = 0

            def broken_once() -> Any:
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise TypeError("a bug in the keepalive")
                return keepalive()

            monkeypatch.setattr(requests, "keepalive", broken_once)
            async with asyncio.timeout(10):
                while ("system", "r_u_alive") not in seen:  # the restarted unit probes
                    await asyncio.sleep(0.05)
            assert supervisor.incidents[f"keepalive:{owner.panel_id}"].count == 1
            assert "keepalive" in (owner.snapshot.health.internal_error or "")
            assert owner.snapshot.connection is ConnectionState.READY


async def test_a_bug_in_sending_gives_one_result_is_reported_and_the_queue_goes_on(
    simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with simulator() as sim:
        supervisor = Supervisor(FAST_SUPERVISOR)
        template = await link_to(sim)
        owner = PanelOwner(template.settings, IDENTITY, template.keys, supervisor=supervisor)
        async with running(owner):
            encode = session_module.encode_request
            calls = 0

            def broken_once(*args: Any) -> bytes:
                nonlocal calls
                calls += 1
                if calls == 1:
                    raise TypeError("a bug while encoding")
                return encode(*args)

            monkeypatch.setattr(session_module, "encode_request", broken_once)
            output = min(owner.snapshot.outputs)
            first = await asyncio.wait_for(owner.submit(SetOutput(output, on=True)), 5)
            assert first.outcome is Outcome.UNKNOWN and first.reason == "internal_error"
            assert supervisor.incidents[f"queue:{owner.panel_id}"].count == 1
            second = await asyncio.wait_for(owner.submit(SetOutput(output, on=True)), 5)
            assert second.ok  # the queue goes on with the same session
            assert owner.snapshot.connection is ConnectionState.READY
