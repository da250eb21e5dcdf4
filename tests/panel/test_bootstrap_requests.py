"""Bootstrap reads only what it can use (issue 14, Deliver 3)."""

from __future__ import annotations

from waiting import wait_until

from .conftest import linked_owner, record_requests, running


async def test_bootstrap_reads_nothing_of_users(simulator) -> None:  # type: ignore[no-untyped-def]
    """``user.get_attribs`` needs an authenticated session (a real panel refuses each one),
    and bare ids are of no use: users are not read at all (ADR-0014)."""
    async with simulator() as sim:
        owner = await linked_owner(sim)
        seen = record_requests(sim)
        async with running(owner):
            assert ("zone", "get_configured") in seen
            assert not [r for r in seen if r[0] == "user"]


async def test_a_reconnect_with_unchanged_checksums_reads_status_only(simulator) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        owner = await linked_owner(sim)
        async with running(owner):
            before = owner.snapshot
            seen = record_requests(sim)
            sim.drop_sessions()
            await wait_until(lambda: seen, "the reconnect")
            await owner.wait_ready(10)
            assert ("zone", "get_table_info") in seen  # the checksums are compared...
            assert not [r for r in seen if r[1] in ("get_configured", "get_attribs")]  # ...equal
            assert ("zone", "get_all_zones_status") in seen  # state is always read again
            assert owner.snapshot.zones.keys() == before.zones.keys()
            assert owner.snapshot.zones[1].name == before.zones[1].name
