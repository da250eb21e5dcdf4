"""Read-only panels and allow-lists through `e27bridge run`: refused commands never reach the
simulated panel (counted there), and neither Homie nor Home Assistant offers a control that
would always be refused; switching back restores the controls and removes the read-only
components."""

from __future__ import annotations

import json
from collections import Counter
from fnmatch import fnmatchcase
from typing import Any

from e27bridge.mqtt.topics import mac12
from mqtt.capture import retained_tree

from .conftest import HASS_CONFIG, PANEL, PIN, H, Stack, StackFactory
from .validate import hass_config_errors, homie_errors

READS = ("get_", "r_u_alive")


def writes(s: Stack) -> Counter[tuple[str, str | None, int | None]]:
    """Every request the panel saw that is not a read (authenticate included)."""
    counts = s.sim.panel.request_counts
    return Counter({k: n for k, n in counts.items() if not (k[1] or "").startswith(READS)})


def commands() -> list[tuple[str, str]]:
    code = str(PIN)
    return [
        (f"{H}/area-1/command/set", json.dumps({"action": "arm_away", "code": code})),
        (f"{H}/area-1/chime/set", "true"),
        (f"{H}/zone-2/command/set", json.dumps({"action": "bypass", "code": code})),
        (f"{H}/output-1/on/set", "true"),
        (f"{H}/lock-1/locked/set", "false"),
        (f"{H}/tstat-1/heat-setpoint/set", "65"),
    ]


def components(tree: dict[str, bytes]) -> dict[str, Any]:
    config = json.loads(tree[HASS_CONFIG])
    return config["components"]  # type: ignore[no-any-return]


def settable(tree: dict[str, bytes]) -> list[str]:
    nodes = json.loads(tree[f"{H}/$description"])["nodes"]
    return [
        f"{n}/{p}"
        for n, node in nodes.items()
        for p, d in node["properties"].items()
        if d.get("settable")
    ]


async def test_a_read_only_panel_executes_nothing_and_offers_no_control(
    stack: StackFactory,
) -> None:
    async with stack(subprocess=True, panel_config="read_only = true") as s:
        before = writes(s)
        for topic, payload in commands():
            _, result = await s.command(topic, payload)
            assert result["status"] == "rejected", topic
            assert (result["error"]["code"], result["error"]["reason"]) == (None, "read_only"), (
                topic
            )
        tree = await retained_tree(s.broker.port)
        assert writes(s) == before  # nothing reached the panel
        assert s.sim.stats.in_flight_violations == 0
        assert settable(tree) == []
        assert homie_errors(tree, "e27bridge") == []
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), ()) == []
        live = {cid: c for cid, c in components(tree).items() if len(c) > 1}
        assert not [cid for cid, c in live.items() if any("command" in k for k in c)]
        assert live["area-1-readonly"]["platform"] == "sensor"
        assert live["output-1-readonly"]["platform"] == "binary_sensor"
        assert "area-1" not in live

        # Switching back: the controls return, the read-only components are removed.
        text = s.config_path.read_text().replace("read_only = true", "")
        s.config_path.write_text(text)
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.wait_ready(mark)
        # A warm start (stored inventory) can be ready before the old retained config is
        # back: the config naming the removed components may be the second one.
        await s.listener.wait_for(
            lambda m: m.topic == HASS_CONFIG and "area-1-readonly" in m.json()["components"],
            start=mark,
            timeout=10,
        )
        tree = await retained_tree(s.broker.port)
        assert "area-1/command" in settable(tree)
        every = components(tree)
        assert every["area-1"]["platform"] == "alarm_control_panel"
        assert every["area-1-readonly"] == {"platform": "sensor"}  # removed in HA
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), ()) == []


async def test_an_allow_list_permits_only_its_nodes(stack: StackFactory) -> None:
    async with stack(subprocess=True, panel_config='commands = ["output-*", "zone-1?"]') as s:
        before = writes(s)
        _, result = await s.command(f"{H}/area-1/chime/set", "true")
        assert (result["error"]["code"], result["error"]["reason"]) == (None, "not_allowed")
        _, result = await s.command(
            f"{H}/zone-2/command/set", json.dumps({"action": "bypass", "code": str(PIN)})
        )
        assert (result["error"]["code"], result["error"]["reason"]) == (None, "not_allowed")
        assert writes(s) == before
        mark, result = await s.command(f"{H}/output-1/on/set", "true")
        assert result["status"] == "ok"
        await s.value(f"{H}/output-1/on", b"true", mark)
        assert writes(s) - before == Counter({("output", "set_status", 1): 1})
        tree = await retained_tree(s.broker.port)
        offered = {p.split("/")[0] for p in settable(tree)}
        assert {"output-1", "zone-10"} <= offered
        assert all(fnmatchcase(n, "output-*") or fnmatchcase(n, "zone-1?") for n in offered)
        assert components(tree)["output-1"]["platform"] == "switch"
        assert components(tree)["area-1-readonly"]["platform"] == "sensor"
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), ()) == []
