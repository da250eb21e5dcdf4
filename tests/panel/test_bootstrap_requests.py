"""Bootstrap reads only what it can use (issue 14, Deliver 3)."""

from __future__ import annotations

from .conftest import linked_owner, record_requests, running


async def test_bootstrap_reads_user_ids_but_not_their_attribs(simulator) -> None:  # type: ignore[no-untyped-def]
    """``user.get_attribs`` needs an authenticated session: a real panel refuses each one."""
    async with simulator() as sim:
        owner = await linked_owner(sim)
        seen = record_requests(sim)
        async with running(owner):
            assert ("user", "get_configured") in seen
            assert ("user", "get_attribs") not in seen
            users = owner.snapshot.users
            assert set(users) == {u.id for u in sim.config.inventory.users}
            assert all(user.name == f"User {user.id}" for user in users.values())
