"""``/set`` topics -> typed engine commands -> exactly one result per command.

Parsing is strict and happens before anything is queued: a malformed payload gets
``invalid`` and never reaches the panel. Retained ``/set`` messages are never executed.
Codes travel only inside the command object; they are never logged or published.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import structlog
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.homie import HomiePanel, NodeTree
from e27bridge.mqtt.inbound import Guard, Inbound, PayloadError, load_json
from e27bridge.mqtt.kinds.light import LIGHT_ON_LEVEL
from e27bridge.mqtt.nodes import Node, PropertySpec
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.results import result_payload
from e27bridge.mqtt.setters import MAX_PAYLOAD, InvalidCommand, Parsed, SetRequest
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.api import PanelHandle
from e27bridge.panel.commands import (
    CommandResult,
    Outcome,
)
from e27bridge.panel.state import ArmMode, PanelSnapshot

log = structlog.get_logger(__name__)

__all__ = [
    "LIGHT_ON_LEVEL",
    "CommandRouter",
    "InvalidCommand",
    "Parsed",
    "parse_command",
    "result_payload",
]
RETAINED_REMEMBERED = 1024  # retained /set topics already answered (one result each)


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


@dataclass(frozen=True, slots=True)
class _Incoming:
    panel_id: str
    node: str
    prop: str
    topic: str
    payload: bytes = field(repr=False)  # may hold a code
    properties: Properties | None = None
    too_large: bool = False


class CommandRouter(Feature):
    """Routes ``/set`` messages of every panel; one result per command.

    Parsing happens in the message loop; only a valid command that the panel's queue has
    room for becomes a task, so a flood costs neither tasks nor memory: the rest is shed
    at once with ``rejected``/``queue_full`` (one warning per burst, ADR-0105).
    """

    def __init__(
        self,
        topics: Topics,
        sink: Results,
        panels: Mapping[str, PanelHandle],
        *,
        homie: Mapping[str, HomiePanel],
        overrides: Mapping[str, PanelOverrides],
        guard: Guard | None = None,
        max_pending: int = 64,  # per panel: the panel queue's depth
    ) -> None:
        self._t = topics
        self._guard = guard or Guard()
        self._sink = sink
        self._panels = panels
        self._homie = homie
        self._overrides = overrides
        self._max_pending = max_pending
        self._pending: Counter[str] = Counter()
        self._shedding: set[str] = set()
        self._nodes: dict[str, tuple[PanelSnapshot, NodeTree]] = {}
        self._answered: OrderedDict[str, bytes] = OrderedDict()  # retained topic -> digest
        self._tasks: set[asyncio.Task[None]] = set()
        self.results: Counter[tuple[str, str]] = Counter()  # (panel, status): metrics
        self.shed = 0  # commands rejected at once because the panel's queue was full

    name = "commands"

    def subscriptions(self) -> Sequence[str]:
        return list(self._t.set_filters)  # each published Homie tree (ADR-0121)

    async def handle_message(self, message: Inbound) -> bool:
        return await self.handle(message)

    async def stop(self) -> None:
        """Commands in flight still get their result (the bridge bounds the wait)."""
        await self.drain()

    async def handle(self, message: Inbound) -> bool:
        """Take one message if it is a ``/set`` of one of our panels (True when taken)."""
        topic = message.topic
        parsed_topic = self._t.parse_set(topic)
        if parsed_topic is None or parsed_topic.device not in self._panels:
            return False
        incoming = _Incoming(
            parsed_topic.device,
            parsed_topic.node,
            parsed_topic.prop,
            topic,
            message.payload,
            message.properties,
            message.too_large,
        )
        if message.retain:
            self._retained(incoming)
            return True
        panel_id = incoming.panel_id
        handle = self._panels[panel_id]
        nodes = self._panel_nodes(panel_id)
        overrides = self._overrides.get(panel_id, PanelOverrides())
        refusal = overrides.refusal(incoming.node)
        if refusal is not None:  # never reaches the panel (nor the queue)
            refused = CommandResult(Outcome.REJECTED, reason=refusal)
            self._respond(incoming, refused, _transaction_of(incoming.payload))
            return True
        try:
            if incoming.too_large:
                raise InvalidCommand("payload_too_large")
            parsed = parse_command(
                nodes,
                incoming.node,
                incoming.prop,
                incoming.payload,
                handle.snapshot.capabilities.arm_modes,
                bypass_code=overrides.bypass_code,
            )
        except InvalidCommand as exc:
            invalid = CommandResult(Outcome.INVALID, reason=exc.reason)
            self._respond(incoming, invalid, _transaction_of(incoming.payload), exc.detail)
            return True
        if self._pending[panel_id] >= self._max_pending:
            self._shed(incoming, parsed.transaction)
            return True
        self._pending[panel_id] += 1
        spec = nodes[incoming.node].property(incoming.prop)
        task = asyncio.create_task(
            self._guard.run("commands", topic, partial(self._execute, incoming, parsed, spec))
        )
        self._tasks.add(task)
        task.add_done_callback(partial(self._done, panel_id))
        return True

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _panel_nodes(self, panel_id: str) -> Mapping[str, Node]:
        """The panel's nodes, brought up to date only when its snapshot changed (not per
        message), and then only the nodes of entities that changed."""
        snapshot = self._panels[panel_id].snapshot
        cached = self._nodes.get(panel_id)
        if cached is None or cached[0] is not snapshot:
            tree = cached[1] if cached is not None else NodeTree()
            tree.update(self._overrides.get(panel_id, PanelOverrides()).apply(snapshot))
            cached = (snapshot, tree)
            self._nodes[panel_id] = cached
        return cached[1].nodes

    def _done(self, panel_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._pending[panel_id] -= 1
        if not self._pending[panel_id] and panel_id in self._shedding:
            self._shedding.discard(panel_id)  # the burst is over: the queue ran empty
            log.info("mqtt_commands_shed_ended", panel=panel_id, shed=self.shed)

    def _retained(self, incoming: _Incoming) -> None:
        """A retained ``/set`` is never executed (ADR-0104): it gets one ``invalid`` result
        (``retained``), not one per reconnect; the empty message that clears it, none."""
        topic = incoming.topic
        if not incoming.payload:
            self._answered.pop(topic, None)
            log.debug("mqtt_retained_set_cleared", topic=topic)
            return
        digest = hashlib.sha256(incoming.payload).digest()
        if self._answered.get(topic) == digest:
            log.debug("mqtt_retained_set_ignored", topic=topic, answered=True)
            return
        self._answered[topic] = digest
        self._answered.move_to_end(topic)
        while len(self._answered) > RETAINED_REMEMBERED:
            self._answered.popitem(last=False)
        log.warning("mqtt_retained_set_ignored", topic=topic)
        retained = CommandResult(Outcome.INVALID, reason="retained")
        self._respond(incoming, retained, _transaction_of(incoming.payload), quiet=True)

    def _shed(self, incoming: _Incoming, transaction: Any) -> None:
        self.shed += 1
        if incoming.panel_id not in self._shedding:
            self._shedding.add(incoming.panel_id)
            log.warning("mqtt_commands_shed", panel=incoming.panel_id, pending=self._max_pending)
        rejected = CommandResult(Outcome.REJECTED, reason="queue_full")
        self._respond(incoming, rejected, transaction, quiet=True)

    async def _execute(
        self, incoming: _Incoming, parsed: Parsed, spec: PropertySpec | None
    ) -> None:
        panel_id, node_id, prop = incoming.panel_id, incoming.node, incoming.prop
        homie = self._homie.get(panel_id)
        target = homie if spec is not None and spec.retained else None
        try:
            if target is not None:
                await target.accepted(node_id, prop, incoming.payload)
            result = await self._panels[panel_id].submit(parsed.command)
        except Exception:  # the command must still get its one result
            log.exception("mqtt_command_failed", panel=panel_id, node=node_id, prop=prop)
            result = CommandResult(Outcome.UNKNOWN, reason="internal_error")
        try:
            if target is not None:
                await target.settled(node_id, prop, result.ok)
        finally:
            carried = getattr(parsed.command, "code", None) is not None
            self._respond(incoming, result, parsed.transaction, carried_code=carried)

    def _respond(
        self,
        incoming: _Incoming,
        result: CommandResult,
        transaction: Any,
        detail: str = "",
        *,
        carried_code: bool = False,
        quiet: bool = False,  # a shed or retained command: logged once per burst or topic
    ) -> None:
        panel_id, topic, properties = incoming.panel_id, incoming.topic, incoming.properties
        if not quiet:
            log.info(
                "mqtt_command_result",
                panel=panel_id,
                node=incoming.node,
                prop=incoming.prop,
                status=result.outcome.value,
                reason=result.reason,
            )
        self.results[panel_id, result.outcome.value] += 1
        payload = result_payload(
            result, topic, transaction, detail=detail, carried_code=carried_code
        )
        body = json.dumps(payload, separators=(",", ":"))
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
