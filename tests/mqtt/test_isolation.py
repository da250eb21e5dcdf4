"""A handler that raises is logged and counted; the bridge keeps serving (issue 9)."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .conftest import Broker
from .test_bridge import H, response, rig, send

BASE = "e27bridge/bridge"


async def test_a_failing_handler_is_counted_and_the_bridge_goes_on(broker: Broker) -> None:
    async with rig(broker) as r:

        async def broken_resync() -> None:
            raise TypeError("a bug, not bad input")

        r.panel.resync = broken_resync  # type: ignore[method-assign]
        await send(broker.port, f"{BASE}/request/resync", '{"panel": "home"}')
        mark = r.listener.mark()
        await send(broker.port, f"{BASE}/request/health_check", '{"transaction": 1}')
        health = (await r.listener.wait_topic(f"{BASE}/response/health_check", start=mark)).json()
        assert health["data"]["mqtt"]["handler_failures"] == 1
        assert not r.listener.on(f"{BASE}/response/resync")
        await send(broker.port, f"{H}/output-1/on/set", "true")
        assert (await response(r, mark))["status"] == "ok"


async def test_a_wildcard_response_topic_still_gets_the_one_result(broker: Broker) -> None:
    async with rig(broker) as r:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ResponseTopic = "replies/#"
        mark = r.listener.mark()
        await send(broker.port, f"{H}/output-1/on/set", "true", properties=props)
        assert (await response(r, mark))["status"] == "ok"
        await send(broker.port, f"{BASE}/request/health_check", "")
        health = (await r.listener.wait_topic(f"{BASE}/response/health_check", start=mark)).json()
        assert health["data"]["mqtt"]["handler_failures"] == 0
