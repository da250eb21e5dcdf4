"""What must never reach the panel (malformed, retained, unknown) and what the panel itself
refuses (a wrong code), over the real engine and simulator."""

from __future__ import annotations

import asyncio
import json

from .conftest import RESPONSE, WRONG_PIN, H, Stack, StackFactory

# (topic under the panel device, payload, reason) - each is answered `invalid` by the bridge
INVALID: list[tuple[str, str | bytes, str]] = [
    ("area-1/command", "{not json", "invalid_json"),
    ("area-1/command", "[1, 2]", "invalid_json"),
    ("area-1/command", '{"action": "arm_night", "code": "1"}', "unknown_action"),
    ("area-1/command", '{"action": "arm_away"}', "code_required"),
    ("area-1/command", '{"action": "arm_away", "code": "12a"}', "invalid_code"),
    ("area-1/command", '{"action": "disarm", "code": "1", "x": 1}', "unknown_field"),
    ("zone-2/command", '{"action": "bypass"}', "code_required"),
    ("zone-2/command", '{"action": "explode", "code": "1"}', "unknown_action"),
    ("zone-2/bypassed", "true", "code_required"),
    ("zone-2/open", "true", "not_settable"),
    ("zone-2/nope", "true", "unknown_property"),
    ("light-1/level", "100", "out_of_range"),
    ("light-1/level", "fifty", "invalid_value"),
    ("light-2/level", "50", "unknown_property"),  # the panel says light 2 cannot dim
    ("output-1/on", "ON", "invalid_value"),
    ("output-1/on", "", "invalid_value"),
    ("output-1/on", b"\xff\xfe", "not_utf8"),
    ("tstat-1/heat-setpoint", "200", "out_of_range"),
    ("tstat-1/cool-setpoint", "96", "out_of_range"),  # the panel accepts 40..95 °F
    ("barrier-1/command", "lift", "unknown_action"),
    ("area-1/chime", "x" * 2000, "payload_too_large"),
    # entities the panel does not have
    ("zone-99/bypassed", "true", "unknown_entity"),
    ("zone-17/command", '{"action": "bypass", "code": "1"}', "unknown_entity"),
    ("output-3/on", "true", "unknown_entity"),
    ("area-2/command", '{"action": "disarm", "code": "1"}', "unknown_entity"),
    ("light-3/on", "true", "unknown_entity"),
    ("banana/on", "true", "unknown_entity"),
]


def requests_seen(s: Stack) -> int:
    return sum(s.sim.panel.domain_counts().values())


async def test_invalid_payloads_and_unknown_entities_never_reach_the_panel(
    stack: StackFactory,
) -> None:
    async with stack() as s:
        await s.engine_idle()  # the bootstrap's follow-up reads are done
        before, mark = requests_seen(s), s.listener.mark()
        for topic, payload, reason in INVALID:
            _, result = await s.command(f"{H}/{topic}/set", payload)
            assert result["status"] == "invalid", (topic, payload, result)
            error = result["error"]
            assert (error["code"], error["reason"]) == (None, reason), (topic, payload)
            assert error["message"].endswith("."), error
            assert result["topic"] == f"{H}/{topic}/set"
        await s.engine_idle()  # anything queued by mistake has reached the panel by now
        assert requests_seen(s) == before, "an invalid command reached the panel"
        assert len(s.listener.on(RESPONSE)) == len(INVALID)
        assert not [m for m in s.listener.messages[mark:] if m.topic.endswith("/$target")]
        # an invalid JSON command still echoes its transaction when it has one
        _, result = await s.command(
            f"{H}/area-1/command/set", json.dumps({"action": "nope", "transaction": "t9"})
        )
        assert result["transaction"] == "t9" and result["status"] == "invalid"


async def test_retained_set_gets_one_result_and_is_never_executed(stack: StackFactory) -> None:
    async with stack() as s:
        mark = s.listener.mark()
        before = requests_seen(s)
        await s.send(f"{H}/output-1/on/set", "true", retain=True)
        result = await s.listener.wait_topic(RESPONSE, start=mark)
        assert result.json()["status"] == "invalid"
        assert result.json()["error"]["reason"] == "retained"
        assert [r["error"]["reason"] for r in s.responses(mark)] == ["retained"]
        target = f"{H}/output-1/on/$target"
        assert not [m for m in s.listener.messages[mark:] if m.topic == target]
        assert s.listener.on(f"{H}/output-1/on")[-1].payload == b"false"
        assert requests_seen(s) == before
        # a later normal command still works (the retained one never ran in between)
        mark, result = await s.command(f"{H}/output-2/on/set", "true")
        assert result["status"] == "ok"
        await s.value(f"{H}/output-2/on", b"true", mark)
        mark = s.listener.mark()
        await s.send(f"{H}/output-1/on/set", b"", retain=True)  # clear it: silently
        await s.restart_daemon()  # the cleared /set is not delivered again
        await s.wait_ready(start=mark)
        _, result = await s.command(f"{H}/output-2/on/set", "false")
        assert [r["status"] for r in s.responses(mark)] == ["ok"]


async def test_wrong_code_is_rejected_with_the_panels_code(stack: StackFactory) -> None:
    async with stack() as s:
        for body, prop in (
            ({"action": "arm_away", "code": WRONG_PIN, "transaction": 1}, "area-1/command"),
            ({"action": "bypass", "code": str(WRONG_PIN), "transaction": 2}, "zone-3/command"),
        ):
            mark, result = await s.command(f"{H}/{prop}/set", json.dumps(body))
            assert result["status"] == "rejected", result
            assert result["transaction"] == body["transaction"]
            # the simulator answers a wrong PIN inside a command with 11004
            error = result["error"]
            assert (error["code"], error["reason"]) == (11004, "invalid parameter"), result
            assert "the user code may be wrong" in error["message"]
            await asyncio.sleep(0.3)
            assert len(s.responses(mark)) == 1
        tree = {m.topic: m.payload for m in s.listener.messages}
        assert tree[f"{H}/area-1/arm-mode"] == b"disarmed"
        assert tree[f"{H}/zone-3/bypassed"] == b"false"
        assert not [
            m
            for m in s.listener.messages
            if str(WRONG_PIN).encode() in m.payload and not m.topic.endswith("/set")
        ]
