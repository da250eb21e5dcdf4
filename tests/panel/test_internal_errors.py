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
from e27bridge.panel.bus import EventBus
from e27bridge.panel.events import ConnectionChanged, PanelEvent
from e27bridge.panel.linking import link
from e27bridge.panel.owner import PanelOwner
from e27bridge.panel.reducer import Reduction
from e27bridge.panel.state import ConnectionState
from e27bridge.protocol.identity import LinkKeys
from e27bridge.supervisor import Backoff, Supervisor

from .conftest import IDENTITY, linked_owner, running

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
        template = await linked_owner(ours)
        settings = dataclasses.replace(template.settings, port=foreign.port)
        owner = PanelOwner(settings, IDENTITY, template._link_keys)
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
