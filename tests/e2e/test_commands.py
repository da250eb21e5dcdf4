"""Every command kind end to end through `e27bridge run`: `/set` -> the panel's queue -> the
simulated panel -> its report -> the Homie value, with `$target` first and exactly one
result on `<base>/<panel>/response`."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .conftest import PIN, RESPONSE, H, Stack, StackFactory

OK = {"status": "ok", "error": None}
QUIET = 0.15  # after the final value: long enough for a duplicate result to show up


async def settable(s: Stack, prop: str, payload: str, final: str | None = None) -> None:
    """A retained settable property: `$target` = requested value, then the real value."""
    final = payload if final is None else final
    topic = f"{H}/{prop}"
    mark, result = await s.command(f"{topic}/set", payload)
    assert result == {"transaction": None, "topic": f"{topic}/set", **OK}, prop
    target = await s.value(f"{topic}/$target", payload.encode(), mark)
    value = await s.value(topic, final.encode(), mark)
    messages = s.listener.messages
    assert messages.index(target) < messages.index(value), f"{prop}: value before $target"
    await asyncio.sleep(QUIET)
    assert len(s.responses(mark)) == 1, f"{prop}: not exactly one result"


async def action(s: Stack, prop: str, body: str, expect: list[tuple[str, str]]) -> None:
    """A non-retained command property: no `$target`; the panel's reports follow."""
    mark, result = await s.command(f"{H}/{prop}/set", body)
    assert result["status"] == "ok", (prop, result)
    for topic, payload in expect:
        await s.value(f"{H}/{topic}", payload.encode(), mark)
    await asyncio.sleep(QUIET)
    assert len(s.responses(mark)) == 1, f"{prop}: not exactly one result"
    assert not s.listener.on(f"{H}/{prop}/$target")


def arm(action_name: str, transaction: str) -> str:
    return json.dumps({"action": action_name, "code": str(PIN), "transaction": transaction})


async def test_every_command_kind_end_to_end(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        start = s.listener.mark()
        # area: arm away with the code (through the exit delay), then disarm
        mark, result = await s.command(f"{H}/area-1/command/set", arm("arm_away", "t-arm"))
        assert result == {"transaction": "t-arm", "topic": f"{H}/area-1/command/set", **OK}
        await s.value(f"{H}/area-1/state", b"arming", mark)
        await s.value(f"{H}/area-1/arm-mode", b"armed_away", mark)
        await s.value(f"{H}/area-1/state", b"armed_away", mark)
        mark, result = await s.command(f"{H}/area-1/command/set", arm("disarm", "t-off"))
        assert result["status"] == "ok" and result["transaction"] == "t-off"
        await s.value(f"{H}/area-1/arm-mode", b"disarmed", mark)
        await s.value(f"{H}/area-1/state", b"disarmed", mark)
        assert not s.listener.on(f"{H}/area-1/command/$target")

        await settable(s, "area-1/chime", "true")
        await action(s, "zone-2/command", arm("bypass", "b1"), [("zone-2/bypassed", "true")])
        await action(s, "zone-2/command", arm("unbypass", "b2"), [("zone-2/bypassed", "false")])
        await settable(s, "output-1/on", "true")
        await settable(s, "output-1/on", "false")
        await settable(s, "light-1/level", "42")
        await s.value(f"{H}/light-1/on", b"true", start)
        await settable(s, "light-1/on", "false")
        await settable(s, "lock-1/locked", "false")
        await settable(s, "tstat-1/mode", "HEAT")
        await settable(s, "tstat-1/heat-setpoint", "65")
        await settable(s, "tstat-1/cool-setpoint", "79")
        await settable(s, "tstat-1/fan-mode", "ON")
        await action(
            s,
            "barrier-1/command",
            "open",
            [("barrier-1/position", "opening"), ("barrier-1/position", "open")],
        )
        # one result per command, and the code never left the /set topic
        assert len(s.listener.on(RESPONSE)) == 15
        published = [m for m in s.listener.messages[start:] if not m.topic.endswith("/set")]
        assert not [m.topic for m in published if str(PIN).encode() in m.payload]


async def test_mqtt5_response_topic_gets_the_same_result_correlated(
    stack: StackFactory,
) -> None:
    async with stack() as s:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = "client/e2e/replies"
        props.CorrelationData = b"corr-42"
        mark = s.listener.mark()
        port = s.broker.port
        async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as c:
            await c.publish(f"{H}/lock-1/locked/set", "false", qos=1, properties=props)
        result = await s.listener.wait_topic(RESPONSE, start=mark)
        reply = await s.listener.wait_topic("client/e2e/replies", start=mark)
        assert reply.json() == result.json() and result.json()["status"] == "ok"
        assert reply.properties.CorrelationData == b"corr-42"
        await s.value(f"{H}/lock-1/locked", b"false", mark)
