"""A handler that raises is logged and counted; the bridge keeps serving (issue 9)."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from structlog.testing import capture_logs

from e27bridge.panel.commands import Command, CommandResult, Refresh
from e27bridge.panel.state import ConnectionState

from .conftest import Broker
from .test_bridge import PANEL, H, response, rig, send

BASE = "e27bridge/bridge"


async def test_a_failing_handler_is_counted_and_the_bridge_goes_on(broker: Broker) -> None:
    async with rig(broker) as r:
        submit = r.panel.submit

        async def broken_refresh(command: Command) -> CommandResult:
            if isinstance(command, Refresh):
                raise TypeError("a bug, not bad input")
            return await submit(command)

        r.panel.submit = broken_refresh  # type: ignore[method-assign]
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


async def test_a_feature_failing_on_an_engine_event_is_isolated(broker: Broker) -> None:
    """The event stream breaks on every event; Homie, HA and the others go on."""
    async with rig(broker) as r:
        [events] = [f for f in r.bridge.features if f.name == "events"]

        async def broken(event: object) -> None:
            raise RuntimeError("a bug in one feature")

        events.on_engine_event = broken  # type: ignore[method-assign]
        mark = r.listener.mark()
        with capture_logs() as logs:
            r.panel.event("armed", area=1)
            r.panel.set_connection(ConnectionState.DISCONNECTED)
            await r.listener.wait_topic(f"{H}/$state", b"disconnected", start=mark)
            await r.listener.wait_for(
                lambda m: m.topic == f"{BASE}/info" and b"disconnected" in m.payload, start=mark
            )
        failed = [e for e in logs if e["event"] == "mqtt_handler_failed"]
        assert {e["handler"] for e in failed} == {"events"}
        assert {"event:PanelEvent", "event:ConnectionChanged"} <= {e["topic"] for e in failed}
        assert not r.listener.on(f"e27bridge/{PANEL}/event")
        await send(broker.port, f"{H}/output-1/on/set", "true")
        assert (await response(r, mark))["status"] == "ok"


async def test_the_bridge_composes_one_feature_per_job(broker: Broker) -> None:
    async with rig(broker) as r:
        names = [f.name for f in r.bridge.features]
        assert names == ["homie", "homie4", "hass", "events", "tap", "bridge_requests", "commands"]
        subscribed = set(r.bridge.conn.subscriptions)
        for feature in r.bridge.features:
            assert set(feature.subscriptions()) <= subscribed
