"""A link revoked on the panel (``e27bridge run`` with the access code still configured).

Promised: ``link_required`` (the alert and the panel's code: ``tests/e2e/test_lifecycle.py``
``::test_link_revoked_on_the_panel_logs_link_required_with_the_panels_code``) and then no
relink loop: the bridge neither links again on its own (a person decides that) nor keeps
knocking with the refused keys, however many health ticks pass; a command meanwhile gets
one result and reaches nothing.
"""

from __future__ import annotations

import time

from e2e.conftest import PIN, H, StackFactory
from e2e.test_read_only import writes
from e27bridge.daemon.health import WRITE_INTERVAL, read_health
from waiting import wait_until

from .checks import body

TICKS = 2  # health ticks watched after link_required (each one looks for new keys)


async def test_a_revoked_link_is_link_required_without_a_relink_loop(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        mark = s.listener.mark()
        s.sim.revoke_link(close_sessions=True)
        await s.listener.wait_topic(f"{H}/$alert/link-required", start=mark, timeout=20)
        links, refused = s.sim.stats.links_made, s.sim.stats.sessions_refused.total()
        before, start = writes(s), s.listener.mark()
        topic = f"{H}/area-1/command/set"
        await s.send(topic, body(action="disarm", code=PIN, transaction="while-revoked"))

        since = time.time()
        await wait_until(
            lambda: read_health(s.state_dir).timestamp > since + TICKS * WRITE_INTERVAL,
            "health ticks",
            timeout=TICKS * WRITE_INTERVAL + 30,
        )
        assert s.sim.stats.links_made == links == 1  # the first start's link, no other
        assert s.sim.stats.sessions_refused.total() - refused <= 1  # the stored keys, once
        assert writes(s) == before
        results = [m.json() for m in s.listener.messages[start:] if m.topic.endswith("response")]
        assert [r["transaction"] for r in results] == ["while-revoked"], results
        assert results[0]["status"] != "ok", results
