"""``/set`` topics -> typed engine commands -> exactly one result per command.

Parsing is strict and happens before anything is queued: a malformed payload gets
``invalid`` and never reaches the panel. Retained ``/set`` messages are never executed.
Codes travel only inside the command object; they are never logged or published.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from e27bridge.mqtt.homie import HomiePanel
from e27bridge.mqtt.inbound import Guard, Inbound, PayloadError, load_json
from e27bridge.mqtt.kinds.light import LIGHT_ON_LEVEL
from e27bridge.mqtt.nodes import Node, panel_nodes
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.setters import MAX_PAYLOAD, InvalidCommand, Parsed, SetRequest
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.api import PanelHandle
from e27bridge.panel.commands import (
    CommandResult,
    Outcome,
)
from e27bridge.panel.state import ArmMode

log = structlog.get_logger(__name__)

__all__ = ["LIGHT_ON_LEVEL", "CommandRouter", "InvalidCommand", "Parsed", "parse_command"]


class Results(Protocol):
    """Where results go: kept while the broker is away (``MqttConnection.deliver``)."""

    def deliver(self, topic: str, payload: str, properties: Properties | None = None) -> None: ...


def parse_command(
    nodes: Mapping[str, Node],
    node_id: str,
    prop: str,
    payload: bytes,
    arm_modes: tuple[ArmMode, ...],
    *,
    bypass_code: int | None = None,
) -> Parsed:
    """One ``/set`` -> a validated command, or :class:`InvalidCommand`.

    ``bypass_code`` is the panel's configured code for the bypass switch, which cannot
    carry a code of its own.
    """
    node = nodes.get(node_id)
    if node is None or node.kind is None:
        raise InvalidCommand("unknown_entity", node_id)
    spec = node.property(prop)
    if spec is None:
        raise InvalidCommand("unknown_property", f"{node_id}/{prop}")
    if not spec.settable or spec.setter is None:
        raise InvalidCommand("not_settable", f"{node_id}/{prop}")
    try:
        return spec.setter(SetRequest(node.number, arm_modes, bypass_code), payload)
    except InvalidCommand:
        raise
    except ValueError as exc:  # the command's own checks (setpoint range, level, ...)
        raise InvalidCommand("out_of_range", str(exc)) from None


def result_payload(result: CommandResult, topic: str, transaction: Any = None) -> dict[str, Any]:
    error = None
    if not result.ok:
        error = {"code": result.code, "reason": result.reason or result.outcome.value}
    return {
        "transaction": transaction,
        "topic": topic,
        "status": result.outcome.value,
        "error": error,
    }


@dataclass(frozen=True, slots=True)
class _Incoming:
    panel_id: str
    node: str
    prop: str
    topic: str
    payload: bytes = field(repr=False)  # may hold a code
    properties: Properties | None = None
    too_large: bool = False


class CommandRouter:
    """Routes ``/set`` messages of every panel; one task per command, one result each."""

    def __init__(
        self,
        topics: Topics,
        sink: Results,
        panels: Mapping[str, PanelHandle],
        *,
        homie: Mapping[str, HomiePanel],
        overrides: Mapping[str, PanelOverrides],
        guard: Guard | None = None,
    ) -> None:
        self._t = topics
        self._guard = guard or Guard()
        self._sink = sink
        self._panels = panels
        self._homie = homie
        self._overrides = overrides
        self._tasks: set[asyncio.Task[None]] = set()
        self.results: Counter[tuple[str, str]] = Counter()  # (panel, status): metrics

    async def handle(self, message: Inbound) -> bool:
        """Take one message if it is a ``/set`` of one of our panels (True when taken)."""
        topic = message.topic
        parsed_topic = self._t.parse_set(topic)
        if parsed_topic is None or parsed_topic.device not in self._panels:
            return False
        if message.retain:
            log.warning("mqtt_retained_set_ignored", topic=topic)
            return True
        incoming = _Incoming(
            parsed_topic.device,
            parsed_topic.node,
            parsed_topic.prop,
            topic,
            message.payload,
            message.properties,
            message.too_large,
        )
        task = asyncio.create_task(self._guard.run("commands", topic, lambda: self._run(incoming)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, incoming: _Incoming) -> None:
        panel_id, node_id, prop = incoming.panel_id, incoming.node, incoming.prop
        topic, payload, properties = incoming.topic, incoming.payload, incoming.properties
        handle = self._panels[panel_id]
        overrides = self._overrides.get(panel_id, PanelOverrides())
        nodes = panel_nodes(overrides.apply(handle.snapshot))
        transaction: Any = None
        homie = self._homie.get(panel_id)
        target = False
        try:
            if incoming.too_large:
                raise InvalidCommand("payload_too_large")
            parsed = parse_command(
                nodes,
                node_id,
                prop,
                payload,
                handle.snapshot.capabilities.arm_modes,
                bypass_code=overrides.bypass_code,
            )
            transaction = parsed.transaction
            spec = nodes[node_id].property(prop)
            target = spec is not None and spec.retained and homie is not None
            if target and homie is not None:
                await homie.accepted(node_id, prop, payload)
            result = await handle.submit(parsed.command)
        except InvalidCommand as exc:
            result = CommandResult(Outcome.INVALID, reason=exc.reason)
            transaction = _transaction_of(payload) if transaction is None else transaction
        except Exception:  # the command must still get its one result
            log.exception("mqtt_command_failed", panel=panel_id, node=node_id, prop=prop)
            result = CommandResult(Outcome.UNKNOWN, reason="internal_error")
        if target and homie is not None:
            await homie.settled(node_id, prop, result.ok)
        log.info(
            "mqtt_command_result",
            panel=panel_id,
            node=node_id,
            prop=prop,
            status=result.outcome.value,
            reason=result.reason,
        )
        self._respond(panel_id, topic, result, transaction, properties)

    def _respond(
        self,
        panel_id: str,
        topic: str,
        result: CommandResult,
        transaction: Any,
        properties: Properties | None,
    ) -> None:
        self.results[panel_id, result.outcome.value] += 1
        body = json.dumps(result_payload(result, topic, transaction), separators=(",", ":"))
        self._sink.deliver(self._t.panel_response(panel_id), body)
        response_topic = getattr(properties, "ResponseTopic", None) if properties else None
        if response_topic and not _publishable(response_topic):
            log.warning("mqtt_response_topic_invalid", topic=topic)
        elif response_topic:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            correlation = getattr(properties, "CorrelationData", None)
            if correlation is not None:
                props.CorrelationData = correlation
            self._sink.deliver(response_topic, body, props)


def _transaction_of(payload: bytes) -> Any:
    """Echo a transaction id even for an invalid command, when one is readable."""
    try:
        body = load_json(payload, max_bytes=MAX_PAYLOAD)
    except PayloadError:
        return None
    return body.get("transaction") if isinstance(body, dict) else None


def _publishable(topic: Any) -> bool:
    """A client-chosen MQTT 5 response topic we can publish to (no wildcard, not empty)."""
    return (
        isinstance(topic, str)
        and 0 < len(topic.encode("utf-8", "replace")) <= 65535
        and not any(c in topic for c in "+#\x00")
    )
