"""Bounded memory under a ``/set`` flood, and still exactly one result per command.

The full target (20,000 commands from 50 clients, RSS within 20 MB of idle) is measured by
``bench/bench_flood.py``; this is the CI-sized flood.
"""

from __future__ import annotations

from e2e.conftest import StackFactory
from e27bridge.mqtt.readgate import HIGH_WATER
from mqtt.capture import Listener
from mqtt.test_bridge import send

from .brokers import keeping_broker  # noqa: F401 (the broker fixture)
from .flood import flood

COMMANDS = 2000
CLIENTS = 20
RSS_BOUND_MIB = 20.0


async def test_a_flood_gets_one_result_each_and_memory_stays_bounded(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True) as s:
        pid = s.daemon.proc.pid  # type: ignore[attr-defined]
        report = await flood(s.broker.port, pid, COMMANDS, CLIENTS)
        assert report.missing == 0 and report.duplicated == 0, report.line()
        assert report.statuses["ok"] > 0 and report.statuses["rejected"] > 0, report.line()
        assert set(report.reasons) == {"queue_full"}, report.line()
        assert report.growth_mib < RSS_BOUND_MIB, report.line()
        health = "e27bridge/bridge/response/health_check"
        async with Listener(s.broker.port, (health,)) as listener:
            await send(s.broker.port, "e27bridge/bridge/request/health_check", "")
            mqtt = (await listener.wait_topic(health)).json()["data"]["mqtt"]
        # The flood waited at the broker: the bridge never held much more than the
        # high-water mark of it (without the read gate, most of the flood).
        assert mqtt["backlog_peak"] <= HIGH_WATER + 16, mqtt
        log = s.daemon.log()  # type: ignore[attr-defined]
        bursts = log.count('"mqtt_commands_shed_ended"')
        assert 1 <= log.count('"mqtt_commands_shed"') <= bursts + 1, "one warning per burst"
        # The panel queue itself may fill too (the engine's own reads share it): one warning
        # per spell there as well, never one per command.
        spells = log.count('"queue_full_ended"')
        assert log.replace('"reason": "queue_full"', "").count('"queue_full"') <= spells + 1
