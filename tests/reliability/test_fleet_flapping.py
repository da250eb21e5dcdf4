"""Eight panels on one ``e27bridge run``, one of them restarting every few seconds.

Promised: the seven steady panels stay ``ready`` throughout (a neighbour's trouble costs
them nothing), every command to them gets exactly one result and runs once, their zone
changes reach MQTT; the flapping panel is ``ready`` within ``READY_BOUND`` of its last
restart and shows the zone state it has; no panel ever sees two requests in flight.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from e2e.conftest import PIN, SubprocessDaemon, daemon_toml, publish, sim_config
from e27bridge.simulator.fleet import Fleet, panel_configs, run_fleet
from mqtt.capture import Listener
from mqtt.conftest import Broker
from waiting import wait_until

from .checks import READY_BOUND, homie_value

PANELS = 8
FLAPS = 5
COMMANDS = 4  # per steady panel


def fleet_toml(broker: Broker, fleet: Fleet, state_dir: Path) -> str:
    first = fleet.panels[0]
    toml = daemon_toml(broker, first, state_dir)
    toml = toml.replace(f"discovery_port = {first.discovery_port}", "discovery_port = DISC")
    head, _, table = toml.partition("[[panels]]")
    tables = [
        table.replace('id = "home"', f'id = "p{i}"')
        .replace(first.mac, p.mac)
        .replace(f"port = {first.port}\n", f"port = {p.port}\n")
        for i, p in enumerate(fleet.panels)
    ]
    text = head + "".join(f"[[panels]]{t}" for t in tables)
    return text.replace("DISC", str(fleet.discovery_port))


def writes(fleet: Fleet, index: int) -> Counter[tuple[str, str | None, int | None]]:
    counts = fleet.panels[index].panel.request_counts
    return Counter({k: n for k, n in counts.items() if k[1] == "set_status"})


async def test_seven_steady_panels_do_not_notice_the_eighth_flapping(
    broker: Broker, tmp_path: Path
) -> None:
    state_dir = tmp_path / "bridge"
    state_dir.mkdir()
    config = sim_config()
    async with run_fleet(panel_configs(config, PANELS)) as fleet, Listener(broker.port) as mq:
        (tmp_path / "config.toml").write_text(fleet_toml(broker, fleet, state_dir))
        daemon = SubprocessDaemon(tmp_path / "config.toml", tmp_path / "daemon.log")
        await daemon.start()
        try:
            states = [f"homie/5/p{i}/$state" for i in range(PANELS)]
            await wait_until(
                lambda: all(homie_value(mq, t) == b"ready" for t in states), "all ready", 60
            )
            mark = mq.mark()
            before = [writes(fleet, i) for i in range(1, PANELS)]

            async def flap() -> None:
                for _ in range(FLAPS):
                    await fleet.panels[0].restart(down_for=1.0)
                    fleet.panels[0].set_zone(1, "open")
                    await asyncio.sleep(2.0)  # the rhythm of the fault, not a wait for a result
                    fleet.panels[0].set_zone(1, "closed")

            async def steady(i: int) -> None:
                for n in range(COMMANDS):
                    body = json.dumps({"action": "disarm", "code": PIN, "transaction": f"{n}"})
                    await publish(broker.port, f"homie/5/p{i}/output-1/on/set", "true")
                    await publish(broker.port, f"homie/5/p{i}/area-1/command/set", body)
                    fleet.panels[i].set_zone(2, "open" if n % 2 == 0 else "closed")

            await asyncio.gather(flap(), *(steady(i) for i in range(1, PANELS)))
            fleet.panels[0].set_zone(3, "open")  # after the last restart

            def answered(i: int) -> int:
                return sum(m.topic == f"e27bridge/p{i}/response" for m in mq.messages[mark:])

            await wait_until(
                lambda: all(answered(i) >= 2 * COMMANDS for i in range(1, PANELS)), "results", 30
            )
            await wait_until(lambda: homie_value(mq, states[0]) == b"ready", "p0", READY_BOUND)
            await mq.wait_topic("homie/5/p0/zone-3/open", b"true", timeout=READY_BOUND, start=mark)
            assert homie_value(mq, "homie/5/p0/zone-1/open") == b"false"
            for i in range(1, PANELS):
                assert [m.payload for m in mq.messages[mark:] if m.topic == states[i]] == []
                assert homie_value(mq, f"homie/5/p{i}/zone-2/open") == b"false"
                assert homie_value(mq, f"homie/5/p{i}/output-1/on") == b"true"
                done = writes(fleet, i) - before[i - 1]
                assert done[("output", "set_status", 1)] == COMMANDS, done
            assert daemon.proc is not None and daemon.proc.returncode is None
            for i in range(1, PANELS):
                assert answered(i) == 2 * COMMANDS
        finally:
            assert await daemon.stop() == 0
        assert fleet.panels[0].stats.sessions_opened > FLAPS
        assert [p.stats.in_flight_violations for p in fleet.panels] == [0] * PANELS
        assert "Traceback" not in daemon.log()
