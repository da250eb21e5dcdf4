"""``<base>/bridge/info`` and the ``bridge/request/<action>`` -> ``bridge/response/<action>`` API.

Actions: ``health_check``, ``refresh`` (``{"panel": id}`` plus ``"node": "zone-3"`` or
``"domain": "zone"``; ``resync`` is the whole-panel refresh) and ``republish``. A response has
the shape of a command result (``transaction``, ``topic``, ``status``, ``error`` with ``code``,
``reason`` and ``message``) plus ``data``. ``bridge/state`` is owned by the bridge's state
connection (ADR-0103).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog

from e27bridge import __version__
from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.inbound import Inbound, PayloadError, load_json
from e27bridge.mqtt.results import error_body
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.api import PanelHandle
from e27bridge.panel.commands import CommandResult, Outcome, Refresh
from e27bridge.panel.events import ConnectionChanged, EngineEvent
from e27bridge.panel.kinds import kind_named
from e27bridge.panel.state import ConnectionState, EntityKind

log = structlog.get_logger(__name__)

Republish = Callable[[], Awaitable[None]]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


ACTIONS = ("health_check", "refresh", "republish", "resync")


class RequestError(Exception):
    """An invalid request: ``reason`` for programs, ``detail`` for the message."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


class RefreshFailed(Exception):
    """A refresh the panel's queue could not carry out: answered like a command's result."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.reason or result.outcome.value)
        self.result = result


def _refresh_target(
    body: Mapping[str, Any],
) -> tuple[EntityKind | None, int | None, dict[str, str]]:
    """(kind, entity number, what to echo) of a refresh: ``node``, ``domain`` or neither."""
    node, domain = body.get("node"), body.get("domain")
    if node is not None and domain is not None:
        raise RequestError("invalid_request", "give node or domain, not both")
    if node is not None:
        name, _, number = node.rpartition("-") if isinstance(node, str) else ("", "", "")
        kind = kind_named(name)
        if kind is None or not number.isdigit() or number.startswith("0"):
            raise RequestError("invalid_request", f"not a node id: {json.dumps(node)}")
        return kind, int(number), {"node": node}
    if domain is not None:
        kind = kind_named(domain) if isinstance(domain, str) else None
        if kind is None:
            raise RequestError("invalid_request", f"unknown domain: {json.dumps(domain)}")
        return kind, None, {"domain": domain}
    return None, None, {}


class BridgeTopics(Feature):
    """``bridge/info`` (retained, kept current) and the request/response API."""

    name = "bridge_requests"
    coalesce = True  # snapshots are not read here: a backlog of them is skipped

    def __init__(
        self,
        topics: Topics,
        sink: Sink,
        panels: Mapping[str, PanelHandle],
        config_summary: Mapping[str, Any],
        republish: Republish,
        *,
        mqtt_state: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._t = topics
        self._sink = sink
        self._panels = panels
        self._config = dict(config_summary)
        self._republish = republish
        self._mqtt_state = mqtt_state or dict
        self._stopped = False

    def _state(self, connection: ConnectionState) -> str:
        """A stopped bridge no longer talks to its panels, whatever they last said: the
        retained info then agrees with Homie ``$state`` and HA availability."""
        if self._stopped and connection is not ConnectionState.LINK_REQUIRED:
            return ConnectionState.DISCONNECTED.value
        return connection.value

    def info(self) -> dict[str, Any]:
        panels = []
        for panel_id, handle in self._panels.items():
            snapshot = handle.snapshot
            panels.append(
                {
                    "id": panel_id,
                    "mac": handle.mac,
                    "state": self._state(snapshot.connection),
                    "link_required": snapshot.connection is ConnectionState.LINK_REQUIRED,
                    "name": snapshot.info.name or None,
                    "firmware": snapshot.info.firmware,
                }
            )
        return {
            "version": __version__,
            "bridge_id": self._t.bridge_id,
            "panels": panels,
            "config": self._config,
        }

    async def publish_info(self) -> None:
        await self._sink.publish(self._t.bridge_info, _dumps(self.info()))

    def subscriptions(self) -> Sequence[str]:
        return [self._t.bridge_request_filter]

    async def republish(self) -> None:
        await self.publish_info()

    async def on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, ConnectionChanged) and not self._stopped:
            await self.publish_info()

    async def stop(self) -> None:
        """The last ``bridge/info``: every panel ``disconnected`` (a panel that wants a
        link keeps saying so), like the Homie devices the bridge just left."""
        self._stopped = True
        await self.publish_info()

    async def handle_message(self, message: Inbound) -> bool:
        return await self.handle(message)

    async def handle(self, message: Inbound) -> bool:
        action = self._t.parse_bridge_request(message.topic)
        if action is None:
            return False
        if message.retain:
            log.warning("mqtt_retained_request_ignored", topic=message.topic)
            return True
        raw = message.payload
        body: Any = {}
        transaction: Any = None
        response: dict[str, Any] = {"transaction": None, "topic": message.topic}
        try:
            if message.too_large:
                raise RequestError("payload_too_large")
            if raw.strip():
                body = load_json(raw)
            if not isinstance(body, dict):
                raise RequestError("invalid_json", "expected a JSON object")
            transaction = body.get("transaction")
            data = await self._dispatch(action, body)
            response |= {"status": Outcome.OK.value, "data": data, "error": None}
        except RefreshFailed as exc:
            result = exc.result
            error = error_body(result.outcome, result.code, str(exc))
            response |= {"status": result.outcome.value, "data": {}, "error": error}
        except (RequestError, PayloadError) as exc:
            detail = exc.detail if isinstance(exc, RequestError) else ""
            error = error_body(Outcome.INVALID, None, exc.reason, detail=detail)
            response |= {"status": Outcome.INVALID.value, "data": {}, "error": error}
        response["transaction"] = transaction
        log.info("mqtt_bridge_request", action=action, status=response["status"])
        await self._sink.publish(self._t.bridge_response(action), _dumps(response), retain=False)
        return True

    async def _dispatch(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        if action == "health_check":
            return self._health()
        if action == "republish":
            await self._republish()
            return {}
        if action in ("refresh", "resync"):
            return await self._refresh(
                body if action == "refresh" else {"panel": body.get("panel")}
            )
        raise RequestError("unknown_action", ", ".join(ACTIONS))

    async def _refresh(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Re-read a node, a domain or the whole panel through its queue; the changes are
        published like any other, the answer says what was read and how it went."""
        panel_id = body.get("panel")
        handle = self._panels.get(panel_id) if isinstance(panel_id, str) else None
        if handle is None:
            raise RequestError("unknown_panel", json.dumps(panel_id))
        kind, number, target = _refresh_target(body)
        result = await handle.submit(Refresh(kind, number))
        if not result.ok:
            raise RefreshFailed(result)
        return {"panel": panel_id, **target, **(result.data or {})}

    def _health(self) -> dict[str, Any]:
        panels = {}
        for panel_id, handle in self._panels.items():
            snapshot = handle.snapshot
            health = snapshot.health
            panels[panel_id] = {
                "state": snapshot.connection.value,
                "rtt_ms": health.rtt_ms,
                "queue_depth": health.queue_depth,
                "reconnects": health.reconnects,
                "last_error": health.last_error,
            }
        healthy = all(p["state"] == ConnectionState.READY.value for p in panels.values())
        return {"healthy": healthy, "panels": panels, "mqtt": dict(self._mqtt_state())}
