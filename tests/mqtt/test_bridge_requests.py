"""``bridge/info`` and the ``bridge/request/<action>`` API on their own, without a broker."""

from __future__ import annotations

from typing import Any

import pytest

from e27bridge import __version__
from e27bridge.mqtt.bridge_topics import BridgeTopics
from e27bridge.mqtt.inbound import Inbound
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.bus import EventBus
from e27bridge.panel.commands import CommandResult, Outcome
from e27bridge.panel.state import ConnectionState, EntityKind

from .factories import MAC, snapshot
from .fakes import FakePanel
from .recording import RecordingSink

TOPICS = Topics(bridge_id="br", base="e27")


class Bridge:
    """One ``BridgeTopics`` over two fake panels, recording publishes and republishes."""

    def __init__(self) -> None:
        bus = EventBus()
        self.home = FakePanel(snapshot("home"), bus)
        self.shed = FakePanel(snapshot("shed", connection=ConnectionState.LINK_REQUIRED), bus)
        self.sink = RecordingSink()
        self.republished = 0
        self.topics = BridgeTopics(
            TOPICS,
            self.sink,
            {"home": self.home, "shed": self.shed},
            {"mqtt": {"password": "**********"}},
            self.republish,
            mqtt_state=lambda: {"connected": True},
        )

    async def republish(self) -> None:
        self.republished += 1

    async def request(self, action: str, payload: bytes = b"", **kw: Any) -> dict[str, Any]:
        handled = await self.topics.handle(Inbound(TOPICS.bridge_request(action), payload, **kw))
        assert handled
        (response,) = self.sink.published
        self.sink.published.clear()
        assert (response.topic, response.retain) == (f"e27/bridge/response/{action}", False)
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def bridge() -> Bridge:
    return Bridge()


async def test_info_lists_panels_and_the_configuration(bridge: Bridge) -> None:
    await bridge.topics.publish_info()
    (info,) = bridge.sink.published
    assert (info.topic, info.retain) == ("e27/bridge/info", True)
    assert info.json() == {
        "version": __version__,
        "bridge_id": "br",
        "config": {"mqtt": {"password": "**********"}},
        "panels": [
            {
                "id": "home",
                "mac": MAC,
                "state": "ready",
                "link_required": False,
                "name": "Home",
                "firmware": "0.0.6.4",
            },
            {
                "id": "shed",
                "mac": MAC,
                "state": "link_required",
                "link_required": True,
                "name": "Home",
                "firmware": "0.0.6.4",
            },
        ],
    }


async def test_health_check_is_healthy_only_when_every_panel_is_ready(bridge: Bridge) -> None:
    response = await bridge.request("health_check", b'{"transaction":"t1"}')
    assert (response["status"], response["transaction"], response["error"]) == ("ok", "t1", None)
    data = response["data"]
    assert data["healthy"] is False and data["mqtt"] == {"connected": True}
    assert data["panels"]["home"] == {
        "state": "ready",
        "rtt_ms": 12.5,
        "queue_depth": 0,
        "reconnects": 1,
        "last_error": None,
    }
    bridge.shed.set_connection(ConnectionState.READY)
    assert (await bridge.request("health_check"))["data"]["healthy"] is True


async def test_resync_and_republish_reach_their_targets(bridge: Bridge) -> None:
    response = await bridge.request("resync", b'{"panel":"shed","transaction":[1]}')
    assert response == {
        "status": "ok",
        "data": {"panel": "shed", "reads": 1},
        "error": None,
        "transaction": [1],
        "topic": "e27/bridge/request/resync",
    }
    assert (bridge.shed.refreshes, bridge.home.refreshes) == ([(None, None)], [])
    assert (await bridge.request("republish"))["status"] == "ok"
    assert bridge.republished == 1


async def test_refresh_names_a_node_a_domain_or_the_panel(bridge: Bridge) -> None:
    response = await bridge.request("refresh", b'{"panel":"home","node":"zone-3"}')
    assert response["data"] == {"panel": "home", "node": "zone-3", "reads": 1}
    response = await bridge.request("refresh", b'{"panel":"home","domain":"output"}')
    assert response["data"] == {"panel": "home", "domain": "output", "reads": 1}
    await bridge.request("refresh", b'{"panel":"home"}')
    assert bridge.home.refreshes == [
        (EntityKind.ZONE, 3),
        (EntityKind.OUTPUT, None),
        (None, None),
    ]


async def test_a_failed_refresh_is_answered_like_a_command_result(bridge: Bridge) -> None:
    bridge.home.next_result = CommandResult(Outcome.INVALID, reason="unknown zone 99")
    response = await bridge.request("refresh", b'{"panel":"home","node":"zone-99","transaction":2}')
    assert response == {
        "status": "invalid",
        "data": {},
        "error": {
            "code": None,
            "reason": "unknown zone 99",
            "message": "The command is not valid (unknown zone 99).",
        },
        "transaction": 2,
        "topic": "e27/bridge/request/refresh",
    }


@pytest.mark.parametrize(
    ("action", "payload", "reason", "message"),
    [
        ("resync", b'{"panel":"attic"}', "unknown_panel", 'No panel "attic" is configured'),
        ("resync", b"{}", "unknown_panel", "No panel null is configured"),
        ("resync", b'{"panel":7}', "unknown_panel", "No panel 7 is configured"),
        ("refresh", b'{"panel":"home","node":"zone"}', "invalid_request", 'not a node id: "zone"'),
        ("refresh", b'{"panel":"home","node":"zone-03"}', "invalid_request", "zone-03"),
        ("refresh", b'{"panel":"home","node":7}', "invalid_request", "not a node id: 7."),
        ("refresh", b'{"panel":"home","domain":"garage"}', "invalid_request", "garage"),
        (
            "refresh",
            b'{"panel":"home","domain":"zone","node":"zone-1"}',
            "invalid_request",
            "give node or domain, not both",
        ),
        (
            "reboot",
            b"{}",
            "unknown_action",
            "valid actions: health_check, refresh, republish, resync.",
        ),
        ("health_check", b"[1]", "invalid_json", "not valid JSON: expected a JSON object."),
        ("health_check", b'"x"', "invalid_json", "not valid JSON: expected a JSON object."),
        ("health_check", b"{", "invalid_json", "The payload is not valid JSON."),
    ],
)
async def test_bad_requests_get_a_result_in_the_command_result_shape(
    bridge: Bridge, action: str, payload: bytes, reason: str, message: str
) -> None:
    response = await bridge.request(action, payload)
    assert set(response) == {"transaction", "topic", "status", "error", "data"}
    assert (response["status"], response["data"], response["transaction"]) == ("invalid", {}, None)
    assert response["topic"] == f"e27/bridge/request/{action}"
    error = response["error"]
    assert (set(error), error["code"], error["reason"]) == (
        {"code", "reason", "message"},
        None,
        reason,
    )
    assert message in error["message"]


async def test_an_oversized_request_gets_an_invalid_result(bridge: Bridge) -> None:
    too_large = await bridge.request("health_check", b"", too_large=True)
    assert too_large["status"] == "invalid"
    assert too_large["error"]["reason"] == "payload_too_large"
    assert "too large" in too_large["error"]["message"]


async def test_other_topics_and_retained_requests_are_not_answered(bridge: Bridge) -> None:
    for topic in ("e27/bridge/info", "e27/bridge/request/a/b", "e27/bridge/request/", "x/y"):
        assert await bridge.topics.handle(Inbound(topic, b"{}")) is False
    retained = Inbound(TOPICS.bridge_request("republish"), b"{}", retain=True)
    assert await bridge.topics.handle(retained) is True  # consumed, never executed
    assert bridge.sink.published == [] and bridge.republished == 0
