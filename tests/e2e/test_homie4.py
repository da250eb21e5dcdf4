"""`e27bridge run` with `bridge.homie_versions`: a Homie 4.0 device per panel beside (or
instead of) the v5 tree, valid by the Homie 4 rules and in the golden capture; its `/set`
goes through the same queue with the same results; its will says `lost`; switched off, the
retained tree it left is removed."""

from __future__ import annotations

import json

from e27bridge.mqtt.homie4_rules import homie4_errors
from e27bridge.mqtt.topics import mac12
from mqtt.capture import retained_tree
from waiting import wait_until

from . import golden
from .conftest import PANEL, H, StackFactory, SubprocessDaemon
from .test_tree import SECRETS, run_values
from .validate import hass_config_errors, homie_errors

H4 = f"homie/{PANEL}"
BOTH = "homie_versions = [5, 4]"


def homie4_part(tree: dict[str, bytes]) -> dict[str, bytes]:
    return {t: p for t, p in tree.items() if t.startswith(H4 + "/")}


async def whole_tree(port: int) -> dict[str, bytes]:
    """At QoS 0: mosquitto drops QoS 1 messages queued past 1000 for one client, and the
    Homie 4 tree alone has more (an attribute topic per property attribute)."""
    return await retained_tree(port, qos=0)


async def test_both_trees_are_valid_and_match_the_golden_capture(stack: StackFactory) -> None:
    async with stack(subprocess=True, bridge_config=BOTH) as s:
        await s.listener.wait_topic(f"{H4}/$state", b"ready")
        tree = await whole_tree(s.broker.port)
        assert homie4_errors(tree, "homie", [PANEL]) == []
        assert homie_errors(tree, "e27bridge") == []  # v5 unchanged beside it
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), SECRETS) == []
        assert tree[f"{H4}/$homie"] == b"4.0.0"
        assert tree[f"{H4}/$nodes"].split(b",")[0] == b"system"
        v5_format = json.loads(tree[f"{H}/$description"])["nodes"]["tstat-1"]["properties"][
            "heat-setpoint"
        ]["format"]
        assert tree[f"{H4}/tstat-1/heat-setpoint/$format"].decode() + ":1" == v5_format
        assert tree[f"{H4}/area-1/command/$datatype"] == b"string"  # v5 json
        assert tree[f"{H4}/area-1/command/$retained"] == b"false"
        assert f"{H4}/area-1/command" not in tree
        golden.check("small-profile-homie4", golden.normalise(homie4_part(tree), run_values(s)))

        # a v4 /set: the same command path, one result, both trees follow the panel
        mark, result = await s.command(f"{H4}/output-1/on/set", "true")
        assert result["status"] == "ok" and result["topic"] == f"{H4}/output-1/on/set"
        await s.value(f"{H4}/output-1/on", b"true", mark)
        await s.value(f"{H}/output-1/on", b"true", mark)
        mark, result = await s.command(f"{H4}/tstat-1/heat-setpoint/set", "900")
        assert result["status"] == "invalid" and result["error"]["reason"] == "out_of_range"
        assert isinstance(s.daemon, SubprocessDaemon)
        s.daemon.kill()  # each Homie 4 device has its own will
        await s.value(f"{H4}/$state", b"lost", mark)
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.value(f"{H4}/$state", b"ready", mark)


async def test_homie4_alone_carries_home_assistant_too(stack: StackFactory) -> None:
    async with stack(bridge_config="homie_versions = [4]") as s:
        tree = await whole_tree(s.broker.port)
        assert not [t for t in tree if t.startswith("homie/5/")]
        assert homie4_errors(tree, "homie", [PANEL]) == []
        assert hass_config_errors(tree, PANEL, mac12(s.sim.mac), SECRETS) == []
        config = json.loads(tree[f"homeassistant/device/{PANEL}/config"])
        assert config["components"]["zone-1"]["state_topic"] == f"{H4}/zone-1/open"
        assert [a["topic"] for a in config["availability"]] == [
            "e27bridge/bridge/state",
            f"{H4}/$state",
        ]
        for entry in config["availability"]:
            assert entry["topic"] in tree
        mark, result = await s.command(f"{H4}/output-1/on/set", "true")
        assert result["status"] == "ok"
        await s.value(f"{H4}/output-1/on", b"true", mark)


async def test_switching_homie4_off_removes_its_retained_tree(stack: StackFactory) -> None:
    async with stack(bridge_config=BOTH) as s:
        await s.listener.wait_topic(f"{H4}/$state", b"ready")
        assert len(await retained_tree(s.broker.port, f"{H4}/#", qos=0)) > 100
        s.config_path.write_text(s.config_path.read_text().replace(BOTH, ""))
        mark = s.listener.mark()
        await s.restart_daemon()
        await s.wait_ready(mark)
        # the sweep follows the connect: wait until a fresh capture finds nothing left
        for _ in range(50):
            left = await retained_tree(s.broker.port, f"{H4}/#", qos=0)
            if not left:
                break
        assert left == {}, sorted(left)[:5]
        tree = await retained_tree(s.broker.port, "homie/5/#")
        assert homie_errors(tree, "e27bridge") == []  # the v5 tree is untouched


async def test_switching_homie5_off_removes_its_retained_tree(stack: StackFactory) -> None:
    """ADR-0152: our root and panel devices go; another device under the prefix stays."""
    v5 = "homie_versions = [5]"
    async with stack(bridge_config=v5) as s:
        assert len(await retained_tree(s.broker.port, f"{H}/#")) > 100
        await s.send("homie/5/lamp/$state", "ready", retain=True)
        s.config_path.write_text(s.config_path.read_text().replace(v5, "homie_versions = [4]"))
        mark = s.listener.mark()
        await s.restart_daemon()
        s.ready_topic = f"{H4}/$state"
        await s.wait_ready(mark)
        await wait_until(
            lambda: any(
                m.topic == f"{H}/$description" and not m.payload for m in s.listener.messages[mark:]
            ),
            "the v5 tree's removal (after the 5 s ghost-check grace)",
            timeout=30,
        )
        # the removal's publishes are pipelined: wait until a fresh capture finds them all
        for _ in range(50):
            left = await retained_tree(s.broker.port, "homie/5/#")
            if len(left) == 1:
                break
        assert left == {"homie/5/lamp/$state": b"ready"}, sorted(left)[:5]
        tree = await whole_tree(s.broker.port)
        config = json.loads(tree[f"homeassistant/device/{PANEL}/config"])
        assert config["components"]["zone-1"]["state_topic"] == f"{H4}/zone-1/open"
