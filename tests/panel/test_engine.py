"""The panel engine against the simulator over real TCP (issue 4 acceptance list).

Every test ends by asserting the simulator saw no in-flight violation (see conftest).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket

import pytest
from structlog.testing import capture_logs

from e27bridge.panel.bus import EventBus
from e27bridge.panel.commands import (
    ArmArea,
    BarrierAction,
    BypassZone,
    OperateBarrier,
    Outcome,
    Refresh,
    SetLight,
    SetOutput,
    parse_pin,
)
from e27bridge.panel.events import ConnectionChanged, PanelEvent
from e27bridge.panel.linking import link
from e27bridge.panel.manager import DuplicatePanelError, PanelManager
from e27bridge.panel.owner import PanelOwner
from e27bridge.panel.queue import Priority, QueueSettings
from e27bridge.panel.state import AlarmPhase, ArmMode, ConnectionState, EntityKind
from e27bridge.protocol import requests
from e27bridge.protocol.identity import LinkKeys
from waiting import wait_until

from .conftest import (
    FAST_RECONNECT,
    IDENTITY,
    link_to,
    linked_owner,
    record_requests,
    running,
    sim_config,
)

PIN = 1234


def user_pin(sim) -> int:  # type: ignore[no-untyped-def]
    return sim.config.inventory.users[0].pin


async def test_bootstrap_reads_inventory_and_status(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        snap = owner.snapshot
        inv = sim.config.inventory
        assert set(snap.areas) == {a.id for a in inv.areas}
        expected_zones = {z.id for z in inv.zones if z.definition != "UNDEFINED"}
        assert set(snap.zones) == expected_zones
        assert all(z.name for z in snap.zones.values())
        assert set(snap.outputs) == {o.id for o in inv.outputs}
        assert all(a.arm_state is ArmMode.DISARMED for a in snap.areas.values())
        assert all(z.violated is not None for z in snap.zones.values())


async def test_many_concurrent_submitters_are_serialised(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        sim.set_faults(response_delay=0.01, jitter=0.01)
        async with running(await linked_owner(sim)) as owner:
            outputs = sorted(owner.snapshot.outputs)
            results = await asyncio.gather(
                *(
                    owner.submit(SetOutput(outputs[i % len(outputs)], on=i % 2 == 0))
                    for i in range(30)
                )
            )
            assert all(r.outcome is Outcome.OK for r in results)
            assert sim.stats_snapshot()["max_outstanding"] <= 1


async def test_timeout_releases_queue_and_late_reply_is_ignored(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(
            sim,
            queue=QueueSettings(
                min_interval=0, request_timeout=0.3, read_retries=0, backoff_base=0.01
            ),
        )
        await owner.start()
        try:
            await owner.wait_ready(10)
            sim.set_faults(late_reply_delay=0.6, late_reply_probability=1.0)
            replies = sim.stats_snapshot()["replies_sent"] + 2  # the late one and the second
            output = min(owner.snapshot.outputs)
            first = await owner.submit(SetOutput(output, on=True))
            assert first.outcome is Outcome.UNKNOWN  # a write without reply is never retried
            sim.clear_faults()
            second = await owner.queue.submit(requests.get_status("area", 1), Priority.NORMAL)
            assert second.ok  # the queue was released by the timeout
            await wait_until(  # the late reply arrives and must complete nothing
                lambda: sim.stats_snapshot()["replies_sent"] >= replies, "the late reply"
            )
            third = await owner.queue.submit(requests.get_status("area", 1), Priority.NORMAL)
            assert third.ok and third.reply is not None and third.reply.seq != second.reply.seq
        finally:
            await owner.stop()


async def test_drop_mid_write_is_unknown_and_not_resent(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        seen = record_requests(sim)
        sim.set_faults(drop_reply_probability=1.0)
        task = asyncio.create_task(owner.submit(SetOutput(min(owner.snapshot.outputs), on=True)))
        await wait_until(lambda: ("output", "set_status") in seen, "the write")
        # the panel executed it; now the connection drops
        sim.drop_sessions()
        result = await task
        assert result.outcome is Outcome.UNKNOWN
        sim.clear_faults()
        await owner.wait_ready(10)
        # a later request as a marker: a resend would have been queued before it
        await owner.queue.submit(requests.get_status("area", 1), Priority.NORMAL)
        assert seen.count(("output", "set_status")) == 1


async def test_drop_mid_read_is_retried(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        sim.set_faults(drop_reply_probability=1.0, close_after_requests=1)
        task = asyncio.create_task(
            owner.queue.submit(requests.get_status("area", 1), Priority.NORMAL)
        )
        await owner.wait_state(ConnectionState.DISCONNECTED, 5)
        sim.clear_faults()
        result = await asyncio.wait_for(task, 10)
        assert result.ok


async def test_panel_restart_revalidates_state(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        zone = min(owner.snapshot.zones)
        states = []
        sub = owner.subscribe()
        await sim.restart(down_for=0.5)
        sim.set_zone(zone, "open")  # changed while the bridge was away
        await owner.wait_state(ConnectionState.DISCONNECTED, 5)
        await owner.wait_ready(15)
        while sub.pending():
            event = await sub.get()
            if isinstance(event, ConnectionChanged):
                states.append(event.new)
        assert ConnectionState.READY in states
        assert owner.snapshot.zones[zone].violated is True
        assert owner.snapshot.health.reconnects >= 1


async def test_panel_moving_port_is_found_by_mac(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        old_port = sim.port
        new_port = await sim.move_to_port(0)
        assert new_port != old_port
        await owner.wait_state(ConnectionState.DISCONNECTED, 5)
        await owner.wait_ready(15)
        assert owner.snapshot.info.port == new_port


async def test_different_mac_at_old_address_is_never_used(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)
        sim.change_mac("0050C2E2FFFF")
        sessions_before = sim.stats_snapshot()["sessions_opened"]
        await owner.start()
        try:
            with pytest.raises(TimeoutError):
                await owner.wait_ready(2)
            assert sim.stats_snapshot()["sessions_opened"] == sessions_before
            assert owner.snapshot.connection is not ConnectionState.READY
        finally:
            await owner.stop()


async def test_hello_refused_backs_off_with_alert(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)
        sim.set_faults(hello_refusal="no_session")
        await owner.start()
        try:
            await asyncio.sleep(1.0)
            refused = sim.stats_snapshot()["sessions_refused"]
            assert 1 <= refused <= 6  # backoff, never a tight loop
            assert "another client" in (owner.snapshot.health.last_error or "")
            sim.clear_faults()
            await owner.wait_ready(10)
        finally:
            await owner.stop()


async def test_link_revoked_gives_link_required(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        sim.revoke_link(close_sessions=True)
        await owner.wait_state(ConnectionState.LINK_REQUIRED, 10)
        connections = sim.stats_snapshot()["connections_accepted"]
        await asyncio.sleep(0.5)
        assert sim.stats_snapshot()["connections_accepted"] == connections  # no loop
        result = await owner.submit(SetOutput(min(owner.snapshot.outputs), on=True))
        assert result.outcome is Outcome.UNAVAILABLE


async def test_keys_stored_later_are_taken_only_while_link_required(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        linked = await link_to(sim)  # as `e27bridge link` does beside the running daemon
        owner = PanelOwner(linked.settings, IDENTITY, None)
        await owner.start()
        try:
            await owner.wait_state(ConnectionState.LINK_REQUIRED, 5)
            assert owner.take_link_keys(linked.keys)
            await owner.wait_ready(10)
            assert not owner.take_link_keys(linked.keys)  # not waiting for keys: ignored
        finally:
            await owner.stop()


async def test_two_panels_one_dead(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        bus = EventBus()
        linked = await link_to(sim, panel_id="good")
        good = PanelOwner(linked.settings, IDENTITY, linked.keys, bus=bus)
        dead_settings = dataclasses.replace(
            good.settings, panel_id="dead", mac="0050C2E2DEAD", port=9, discovery_port=9
        )
        # the dead panel has real keys but never gets a session
        dead = PanelOwner(dead_settings, IDENTITY, linked.keys, bus=bus)
        manager = PanelManager([good, dead], bus)
        await manager.start()
        try:
            await good.wait_ready(10)
            result = await good.submit(SetOutput(min(good.snapshot.outputs), on=True))
            assert result.ok
            assert dead.snapshot.connection is not ConnectionState.READY
        finally:
            await manager.stop()
        with pytest.raises(DuplicatePanelError):
            PanelManager([good, PanelOwner(good.settings, IDENTITY, None)], EventBus())


async def test_queue_full_and_max_age(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(
            sim,
            queue=QueueSettings(depth=3, command_max_age=0.3, min_interval=0, request_timeout=2.0),
        )
        await owner.start()
        try:
            await owner.wait_ready(10)
            sim.set_faults(response_delay=0.5)
            output = min(owner.snapshot.outputs)
            tasks = [
                asyncio.create_task(owner.submit(SetOutput(output, on=i % 2 == 0)))
                for i in range(6)
            ]
            with capture_logs() as logs:
                results = await asyncio.gather(*tasks)
                sim.clear_faults()
                assert (await owner.submit(SetOutput(output, on=True))).ok
            outcomes = [r.outcome for r in results]
            refused = sum(r.reason == "queue_full" for r in results)
            assert outcomes.count(Outcome.REJECTED) >= 2 and refused >= 2
            assert Outcome.EXPIRED in outcomes
            # One warning for the spell, however many were refused, and its end with the count.
            events = [e for e in logs if e["event"].startswith("queue_full")]
            assert [e["event"] for e in events] == ["queue_full", "queue_full_ended"], events
            assert events[1]["refused"] == refused
        finally:
            sim.clear_faults()
            await owner.stop()


async def test_arm_exit_delay_then_armed_and_disarm(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)
        await owner.start()
        try:
            await owner.wait_ready(10)
            pin = user_pin(sim)
            phases = set()
            sub = owner.subscribe()
            result = await owner.submit(ArmArea(1, ArmMode.ARMED_AWAY, pin))
            assert result.ok
            async with asyncio.timeout(10):
                while owner.snapshot.areas[1].arm_state is not ArmMode.ARMED_AWAY:
                    await sub.get()
                    phases.add(owner.snapshot.areas[1].phase)
            assert AlarmPhase.ARMING in phases
            wrong = await owner.submit(ArmArea(1, ArmMode.DISARMED, parse_pin("999999")))
            assert wrong.outcome is Outcome.REJECTED and wrong.code is not None
            ok = await owner.submit(ArmArea(1, ArmMode.DISARMED, pin))
            assert ok.ok
            async with asyncio.timeout(5):
                while owner.snapshot.areas[1].arm_state is not ArmMode.DISARMED:
                    await sub.get()
            zone = min(owner.snapshot.zones)
            bypass = await owner.submit(BypassZone(zone, True, pin))
            assert bypass.ok
            async with asyncio.timeout(5):
                while not owner.snapshot.zones[zone].bypassed:
                    await sub.get()
        finally:
            with contextlib.suppress(Exception):
                await owner.stop()


async def test_first_start_links_with_configured_credentials(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        template = await linked_owner(sim)
        creds = sim.config.credentials
        linked: list[LinkKeys] = []

        async def linker(host: str, port: int) -> LinkKeys:
            keys = await link(
                host, port, IDENTITY, access_code=creds.access_code, passphrase=creds.passphrase
            )
            linked.append(keys)
            return keys

        owner = PanelOwner(template.settings, IDENTITY, None, linker=linker)
        await owner.start()
        try:
            await owner.wait_ready(10)
            assert len(linked) == 1
        finally:
            await owner.stop()


async def test_first_start_with_wrong_credentials_stops_at_link_required(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        template = await linked_owner(sim)
        attempts = 0

        async def linker(host: str, port: int) -> LinkKeys:
            nonlocal attempts
            attempts += 1
            return await link(
                host, port, IDENTITY, access_code="0000", passphrase="wrong", timeout=0.5
            )

        owner = PanelOwner(template.settings, IDENTITY, None, linker=linker)
        await owner.start()
        try:
            await owner.wait_state(ConnectionState.LINK_REQUIRED, 5)
            await asyncio.sleep(0.5)
            assert attempts == 1  # silent panel: never retried automatically
        finally:
            await owner.stop()


async def test_keepalive_after_silence_and_one_miss_closes_the_link(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        policy = dataclasses.replace(FAST_RECONNECT, keepalive_after=0.3, keepalive_timeout=0.3)
        async with running(await linked_owner(sim, reconnect=policy)) as owner:
            seen = record_requests(sim)
            await wait_until(lambda: ("system", "r_u_alive") in seen, "a keepalive probe")
            assert ("system", "r_u_alive") in seen  # probed after inbound silence
            assert owner.snapshot.connection is ConnectionState.READY
            sim.set_faults(drop_reply_probability=1.0)
            await owner.wait_state(ConnectionState.DISCONNECTED, 5)  # one miss closes it
            sim.clear_faults()
            await owner.wait_ready(10)


async def test_restart_during_bootstrap_starts_over(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)
        sim.set_faults(close_after_requests=10)  # every session dies mid-bootstrap
        await owner.start()
        try:
            with pytest.raises(TimeoutError):
                await owner.wait_ready(1.5)
            assert sim.stats_snapshot()["sessions_opened"] < 15  # backed off, no tight loop
            sim.clear_faults()
            await owner.wait_ready(10)
            assert owner.snapshot.zones
        finally:
            await owner.stop()


async def test_silent_timeout_probes_the_link_at_once(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)  # keepalive_after is 30 s: only the link check fires
        await owner.start()
        try:
            await owner.wait_ready(10)
            sim.set_faults(drop_reply_probability=1.0)
            read = asyncio.create_task(
                owner.queue.submit(requests.get_status("area", 1), Priority.NORMAL)
            )
            await owner.wait_state(ConnectionState.DISCONNECTED, 4)
            sim.clear_faults()
            assert (await asyncio.wait_for(read, 10)).ok  # and the read is retried
        finally:
            await owner.stop()


async def test_refresh_reads_one_entity_one_kind_or_every_status(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim, running(await linked_owner(sim)) as owner:
        seen = record_requests(sim)
        result = await owner.submit(Refresh(EntityKind.ZONE, 3))
        assert result.ok and result.data == {"reads": 1} and seen == [("zone", "get_status")]
        seen.clear()
        result = await owner.submit(Refresh(EntityKind.ZONE))
        assert result.ok and seen == [("zone", "get_all_zones_status")]
        seen.clear()
        result = await owner.submit(Refresh())
        assert result.ok and result.data is not None
        assert len(seen) == result.data["reads"] > 2 and ("system", "get_trouble") in seen
        result = await owner.submit(Refresh(EntityKind.ZONE, 999))
        assert result.outcome is Outcome.INVALID and result.data is None


async def test_zwave_busy_is_retried_with_backoff_but_barriers_never(simulator) -> None:  # type: ignore[no-untyped-def]
    async with (
        simulator(sim_config(zwave_busy_rate=1.0)) as sim,
        running(await linked_owner(sim)) as owner,
    ):
        seen = record_requests(sim)
        light = await owner.submit(SetLight(min(owner.snapshot.lights), 50))
        assert light.outcome is Outcome.REJECTED and light.code == 11039
        assert seen.count(("light", "set_status")) == 3  # first try + 2 retries
        barrier = await owner.submit(
            OperateBarrier(min(owner.snapshot.barriers), BarrierAction.OPEN)
        )
        assert barrier.outcome is Outcome.REJECTED and barrier.code == 11039
        assert seen.count(("barrier", "set_status")) == 1  # at most once


async def test_identical_pending_reads_share_one_request(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)
        await owner.start()
        try:
            await owner.wait_ready(10)
            sim.set_faults(response_delay=0.2)
            seen = record_requests(sim)
            blocker = owner.queue.enqueue(requests.get_status("area", 1), Priority.NORMAL)
            # in flight now; the next two wait in the queue
            await wait_until(lambda: ("area", "get_status") in seen, "the first read")
            first = owner.queue.enqueue(requests.get_status("zone", 1), Priority.NORMAL)
            second = owner.queue.enqueue(requests.get_status("zone", 1), Priority.NORMAL)
            results = await asyncio.gather(blocker, first, second)
            assert all(r.ok for r in results)
            assert seen.count(("zone", "get_status")) == 1
        finally:
            sim.clear_faults()
            await owner.stop()


async def test_new_host_hint_is_persisted_after_rediscovery(simulator) -> None:  # type: ignore[no-untyped-def]
    saved: list[tuple[str, str, int]] = []

    class Hints:
        def save_host_hint(self, mac: str, host: str, port: int) -> None:
            saved.append((mac, host, port))

    async with simulator() as sim:
        template = await link_to(sim)
        owner = PanelOwner(template.settings, IDENTITY, template.keys, hints=Hints())
        await owner.start()
        try:
            await owner.wait_ready(10)
            new_port = await sim.move_to_port(0)
            await owner.wait_state(ConnectionState.DISCONNECTED, 5)
            await owner.wait_ready(15)
            assert saved[-1] == (sim.mac, sim.host, new_port)
        finally:
            await owner.stop()


async def test_code_needing_a_privileged_session_authenticates_through_the_queue(simulator) -> None:  # type: ignore[no-untyped-def]
    async with (
        simulator(sim_config(codes_need_authenticate=True)) as sim,
        running(await linked_owner(sim)) as owner,
    ):
        seen = record_requests(sim)
        result = await owner.submit(ArmArea(1, ArmMode.ARMED_STAY, user_pin(sim)))
        assert result.ok
        assert seen[:3] == [
            ("area", "set_arm_state"),  # 11008: not authorised yet
            ("authenticate", None),  # the same code, through the same queue
            ("area", "set_arm_state"),
        ]
        wrong = await owner.submit(ArmArea(1, ArmMode.DISARMED, parse_pin("999999")))
        assert wrong.outcome is Outcome.REJECTED


async def test_new_event_log_entries_become_events_and_old_ones_are_not_replayed(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        zone = min(sim.config.inventory.zones, key=lambda z: z.id).id
        sim.set_zone(zone, "open")  # logged before the bridge connects: never replayed
        sim.set_zone(zone, "closed")
        async with running(await linked_owner(sim)) as owner:
            sub = owner.subscribe()
            result = await owner.submit(ArmArea(1, ArmMode.ARMED_STAY, user_pin(sim)))
            assert result.ok
            texts: list[str] = []
            async with asyncio.timeout(5):
                while not any("by user" in t for t in texts):
                    event = await sub.get()
                    if isinstance(event, PanelEvent) and event.type == "log":
                        texts.append(event.data["text"])
            assert not [t for t in texts if t.startswith(f"Zone {zone} ")]
            await owner.submit(ArmArea(1, ArmMode.DISARMED, user_pin(sim)))


async def test_panel_restart_is_survived_while_discovery_is_blocked(simulator) -> None:  # type: ignore[no-untyped-def]
    """UDP filtered (Docker without host networking): rediscovery finds nothing, so the
    last address is tried again, unverified, as before the first connect (ADR-0003)."""
    async with simulator() as sim:
        linked = await link_to(sim)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))  # a discovery port where nothing answers
            port = silent.getsockname()[1]
            settings = dataclasses.replace(linked.settings, discovery_port=port)
            async with running(PanelOwner(settings, IDENTITY, linked.keys)) as owner:
                await sim.restart(down_for=1.0)  # longer than the one quick retry
                await owner.wait_state(ConnectionState.DISCONNECTED, 5)
                await owner.wait_ready(15)
