"""Another panel at our panel's old address (``e27bridge run``), with and without discovery.

Promised (ADR-0007): a panel whose MAC is not ours is never linked, never given a session
and never made a verdict on our link (no ``link_required``), however long it sits at the
configured address, even though it would accept the configured access code; when ours
comes back (on another port, found by its MAC) it is ``ready`` within ``READY_BOUND`` and
executes a command once. The engine-level versions are
``tests/panel/test_engine.py::test_different_mac_at_old_address_is_never_used`` and
``tests/panel/test_internal_errors.py::test_refusal_from_an_unverified_address_is_no_verdict``.
"""

from __future__ import annotations

import dataclasses

import pytest

from e2e.conftest import H, StackFactory, sim_config
from e2e.test_read_only import writes
from e27bridge.simulator.runner import Simulator
from waiting import wait_until

from .checks import executed, one_result_each, ready_again

STRANGER_MAC = "0050C2E2FFF0"
# s: after a HELLO refusal at an unverified address the bridge waits out the refused back-off
# (30-60 s) before it looks again; otherwise our panel is found at its next retry.
REFUSED_BOUND = 75.0


def panel_at(mac: str | None, port: int, discovery_port: int) -> Simulator:
    config = sim_config()
    if mac is not None:
        config = dataclasses.replace(config, identity=dataclasses.replace(config.identity, mac=mac))
    network = dataclasses.replace(config.network, port=port, discovery_port=discovery_port)
    return Simulator(dataclasses.replace(config, network=network))


@pytest.mark.parametrize("discovery", [True, False], ids=["discovery_answers", "discovery_silent"])
async def test_a_stranger_at_the_old_address_is_never_used(
    stack: StackFactory, discovery: bool
) -> None:
    async with stack(subprocess=True) as s:
        ours = s.sim
        links = {sn: ours.server.links.get(sn) for sn in ours.server.links.sns()}
        port, discovery_port = ours.port, ours.discovery_port
        mark = s.listener.mark()
        await ours.close()
        s.retired.append(ours)
        stranger = panel_at(STRANGER_MAC, port, discovery_port)
        await stranger.start(discovery=discovery)
        s.sim = stranger
        # Answering discovery, it is never connected to; silent, its refusal is no verdict.
        said = "not connecting" if discovery else "whose MAC is not verified"
        log = s.daemon.log  # type: ignore[attr-defined]
        await wait_until(lambda: log().count(said) >= (2 if discovery else 1), said, timeout=30)
        assert stranger.stats.sessions_refused.total() == (0 if discovery else 1)
        assert stranger.stats.links_made == 0 and stranger.stats.sessions_opened == 0
        info = [m.json() for m in s.listener.messages[mark:] if m.topic.endswith("bridge/info")]
        assert not any(p["link_required"] for i in info for p in i["panels"]), info
        assert not [m for m in s.listener.messages[mark:] if "link-required" in m.topic]

        # Ours comes back elsewhere; discovery (by MAC) finds it.
        await stranger.close()
        s.retired.append(stranger)
        back = panel_at(None, 0, discovery_port)
        for sn, keys in links.items():
            assert keys is not None
            back.add_link(sn, keys)
        await back.start()
        s.sim = back
        await ready_again(s, bound=REFUSED_BOUND)
        before, start = writes(s), s.listener.mark()
        await s.send(f"{H}/output-1/on/set", "true")
        (result,) = await one_result_each(s, start, [f"{H}/output-1/on/set"])
        assert result["status"] == "ok", result
        assert executed(s, before) == {("output", "set_status", 1): 1}
        assert back.stats.links_made == 0  # the stored keys were accepted
