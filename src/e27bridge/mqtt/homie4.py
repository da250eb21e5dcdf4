"""Homie 4.0 tree for controllers that read only Homie 3/4 (openHAB's binding, for one).

One device per panel at ``<homie_prefix>/<panel-id>``, mapped from the same nodes as the
v5 tree (``mqtt/nodes.py``) with the same rule for declaring properties (ADR-0120): an
attribute topic per device, node and property attribute, values, ``/set`` routed like v5.
Homie 4 wants a last will per device, so each panel device has a small connection of its
own that carries only its ``$state`` will. Switched off, the tree an earlier run left is
removed (ADR-0121).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import structlog

from e27bridge.mqtt.coalesce import Coalescer
from e27bridge.mqtt.connection import ConnectionSettings, MqttConnection, Will
from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.features import ECHO_GRACE, Unsubscribe, View
from e27bridge.mqtt.homie import HOMIE_STATE
from e27bridge.mqtt.homie_tree import KnownValues, NodeTree
from e27bridge.mqtt.inbound import Inbound
from e27bridge.mqtt.nodes import Node, PropertySpec
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.events import EngineEvent, SnapshotReplaced
from e27bridge.panel.state import PanelSnapshot

log = structlog.get_logger(__name__)

HOMIE4 = "4.0.0"
IMPLEMENTATION = "e27bridge"
# Homie 4 datatypes; v5's json (and datetime, duration) are strings there.
DATATYPES = frozenset({"integer", "float", "boolean", "string", "enum", "color"})
PROPERTY_ATTRIBUTES = ("$name", "$datatype", "$format", "$settable", "$retained", "$unit")


def v4_format(datatype: str, fmt: str | None) -> str | None:
    """The v5 ``format`` as Homie 4 has it: ``min:max`` ranges only (no open bound, no
    step), enums and colors as they are; boolean labels and JSON schemas are v5-only."""
    if fmt is None:
        return None
    if datatype in ("integer", "float"):
        low, high = [*fmt.split(":"), ""][:2]
        return f"{low}:{high}" if low and high else None
    return fmt if datatype in ("enum", "color") else None


def property_attributes(spec: PropertySpec) -> dict[str, str]:
    datatype = spec.datatype if spec.datatype in DATATYPES else "string"
    attributes = {"$name": spec.name, "$datatype": datatype}
    if spec.settable:  # the defaults (read-only, retained) are left out: fewer topics
        attributes["$settable"] = "true"
    if not spec.retained:
        attributes["$retained"] = "false"
    fmt = v4_format(datatype, spec.format)
    if fmt is not None:
        attributes["$format"] = fmt
    if spec.unit is not None:
        attributes["$unit"] = spec.unit
    return attributes


def device_attributes(base: str, name: str, nodes: list[Node]) -> dict[str, str]:
    """Every attribute topic of one device but ``$state``, in publication order.

    ``$extensions`` is the empty string the convention shows; MQTT keeps no retained empty
    message, so a late subscriber finds none (Homie 4 has no other empty string).
    """
    out = {
        f"{base}/$homie": HOMIE4,
        f"{base}/$name": name,
        f"{base}/$extensions": "",
        f"{base}/$implementation": IMPLEMENTATION,
    }
    for node in nodes:
        out[f"{base}/{node.id}/$name"] = node.name
        out[f"{base}/{node.id}/$type"] = node.type
        out[f"{base}/{node.id}/$properties"] = ",".join(p.id for p in node.properties)
        for spec in node.properties:
            for attribute, value in property_attributes(spec).items():
                out[f"{base}/{node.id}/{spec.id}/{attribute}"] = value
    out[f"{base}/$nodes"] = ",".join(node.id for node in nodes)  # last: all nodes are out
    return out


class Homie4Panel:
    """One panel's Homie 4 device. Call ``sync`` with every new snapshot."""

    def __init__(
        self,
        topics: Topics,
        sink: Sink,
        panel_id: str,
        writable: Callable[[str], bool] = lambda node: True,
        *,
        known: KnownValues | None = None,
    ) -> None:
        self._sink = sink
        self.panel_id = panel_id
        self.base = topics.device4(panel_id)
        self._writable = writable
        self._known = known or KnownValues()
        self._tree = NodeTree(writable, self._known)
        self._cache: dict[str, bytes] = {}  # every retained topic as published
        self._attributes: dict[str, str] | None = None
        self.state: str | None = None
        self._found: set[str] = set()

    @property
    def state_topic(self) -> str:
        return f"{self.base}/$state"

    async def publish_all(self, snapshot: PanelSnapshot) -> None:
        """Forget what the broker has and publish everything again (after a (re)connect)."""
        self._cache.clear()
        self._attributes = None
        self.state = None
        self._tree = NodeTree(self._writable, self._known)
        await self.sync(snapshot)

    async def sync(self, snapshot: PanelSnapshot) -> None:
        admit = self.state != "ready" or self._known.late_allowed()
        changed, restructured = self._tree.update(snapshot, admit)
        if restructured or self._attributes is None:
            await self._describe(snapshot.info.name or snapshot.panel_id)
        for node in changed:
            for spec in self._known.visible(node, admit=False).properties:
                payload = self._known.payload(node, spec) if spec.retained else None
                if payload is not None:
                    text = b"" if payload == b"\x00" else payload  # v5's empty string
                    await self._publish(f"{self.base}/{node.id}/{spec.id}", text, node, spec)
        state = HOMIE_STATE[snapshot.connection]
        if state == "ready":
            await self.clear_ghosts()
        await self._set_state(state)

    async def _describe(self, name: str) -> None:
        """Every attribute in an ``init`` window; topics no longer declared are cleared."""
        nodes = self._tree.visible_nodes()
        attributes = device_attributes(self.base, name, nodes)
        if attributes == self._attributes:
            return
        await self._set_state("init")
        self._known.described()
        for topic, value in attributes.items():
            await self._publish(topic, value.encode())
        self._attributes = attributes
        wanted = set(attributes)
        wanted |= {f"{self.base}/{n.id}/{p.id}" for n in nodes for p in n.properties if p.retained}
        await self._clear(t for t in list(self._cache) if t not in wanted)
        log.info("homie4_attributes_published", panel=self.panel_id, nodes=len(nodes))

    async def remove(self) -> None:
        """Delete the device: ``$state`` first, then every other retained topic."""
        await self._sink.publish(self.state_topic, b"")
        await self._clear(list(self._cache))
        self._attributes = None
        self.state = None

    def learn_retained(self, topic: str, payload: bytes) -> bool:
        """A retained topic of this device found on the broker; True when judging is due."""
        if not payload or not topic.startswith(self.base + "/"):
            return False
        self._found.add(topic)
        return self.state == "ready"

    async def clear_ghosts(self) -> None:
        """Clear retained topics found on the broker that this device no longer has."""
        found, self._found = self._found, set()
        for topic in sorted(found):
            if topic != self.state_topic and topic not in self._cache:
                await self._sink.publish(topic, b"")
                log.info("homie4_ghost_removed", panel=self.panel_id, topic=topic)

    async def _publish(
        self, topic: str, payload: bytes, node: Node | None = None, spec: PropertySpec | None = None
    ) -> None:
        if self._cache.get(topic) == payload:
            return
        urgent = node is None or spec is None or node.urgent or spec.urgent
        await self._sink.publish(topic, payload, urgent=urgent)
        self._cache[topic] = payload

    async def _clear(self, topics: Any) -> None:
        for topic in topics:
            await self._sink.publish(topic, b"")
            self._cache.pop(topic, None)

    async def _set_state(self, state: str) -> None:
        if state != self.state:
            await self._sink.publish(self.state_topic, state)
            self.state = state
            log.info("homie4_state", panel=self.panel_id, state=state)


def homie4_filters(topics: Topics, panel_ids: list[str]) -> list[str]:
    """Every retained topic of the panels' Homie 4 devices, without their ``/set`` topics
    (which the command filter takes, so no broker delivers a command twice)."""
    filters: list[str] = []
    for pid in panel_ids:
        base = topics.device4(pid)
        filters += [f"{base}/+", f"{base}/+/+"]
        filters += [f"{base}/+/+/{attribute}" for attribute in PROPERTY_ATTRIBUTES]
    return filters


class Homie4Feature(Feature):
    """The Homie 4 devices and their will connections when enabled; otherwise the removal
    of such a tree left by an earlier run."""

    name = "homie4"
    coalesce = True

    def __init__(
        self,
        topics: Topics,
        sink: Coalescer,
        overrides: Mapping[str, PanelOverrides],
        view: View,
        settings: ConnectionSettings,
        *,
        unsubscribe: Unsubscribe,
    ) -> None:
        self.enabled = 4 in topics.homie_versions
        self._sink = sink
        self._topics = topics
        self._overrides = overrides
        self._view = view
        self._unsubscribe = unsubscribe
        self._panel_ids = panel_ids = sorted(overrides)
        self.devices: dict[str, Homie4Panel] = {}
        self._wills: dict[str, MqttConnection] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._checks: dict[str, asyncio.Task[None]] = {}
        self._echo_stop: asyncio.Task[None] | None = None
        self.echo_grace = ECHO_GRACE
        if not self.enabled:
            return
        for pid in panel_ids:
            device = Homie4Panel(topics, sink, pid, overrides[pid].writable)
            self.devices[pid] = device
            self._wills[pid] = MqttConnection(
                replace(settings, client_id=f"{settings.client_id}-h4-{pid}"),
                will=Will(device.state_topic, "lost"),
                on_connect=partial(self._will_connected, device),
            )

    def subscriptions(self) -> Sequence[str]:
        return homie4_filters(self._topics, self._panel_ids)

    async def start(self) -> None:
        """The will connections run beside the bridge's own."""
        self._tasks = [asyncio.create_task(conn.run()) for conn in self._wills.values()]

    async def republish(self) -> None:
        async with self._lock:
            for pid, device in self.devices.items():
                await device.publish_all(self._view(pid))
        await self._sink.flush()
        if self._echo_stop is not None:
            self._echo_stop.cancel()
        self._echo_stop = asyncio.create_task(self._stop_echo())

    async def handle_message(self, message: Inbound) -> bool:
        """A retained topic under one of our Homie 4 devices (True when it is one)."""
        if not message.retain:
            return False
        for pid in self._panel_ids:
            if not message.topic.startswith(self._topics.device4(pid) + "/"):
                continue
            if not self.enabled:
                if message.payload:  # switched off: what an earlier run left goes
                    await self._sink.publish(message.topic, b"")
                    log.info("homie4_topic_removed", topic=message.topic)
                return True
            due = self.devices[pid].learn_retained(message.topic, message.payload)
            if due and pid not in self._checks:
                self._checks[pid] = asyncio.create_task(self._clear_ghosts(pid))
            return True
        return False

    async def on_engine_event(self, event: EngineEvent) -> None:
        device = self.devices.get(event.panel_id)
        if isinstance(event, SnapshotReplaced) and device is not None:
            view = self._overrides[event.panel_id].apply(event.snapshot)
            async with self._lock:
                await device.sync(view)

    async def stop(self) -> None:
        """Every device ``disconnected`` on its will connection, which then closes cleanly
        (no will)."""
        for task in [*self._checks.values(), *([self._echo_stop] if self._echo_stop else [])]:
            task.cancel()
        await self._sink.flush()
        for pid, conn in self._wills.items():
            with contextlib.suppress(Exception):
                await conn.stop(final=[(self.devices[pid].state_topic, "disconnected")])
        for task in self._tasks:
            task.cancel()

    async def _clear_ghosts(self, panel_id: str) -> None:
        async with self._lock:
            self._checks.pop(panel_id, None)
            await self.devices[panel_id].clear_ghosts()

    async def _stop_echo(self) -> None:
        """Retained topics from before arrive right after subscribing (a ready device judges
        them, ADR-0150); after that the filters would bring back only our own publishes."""
        await asyncio.sleep(self.echo_grace)
        await self._unsubscribe(*self.subscriptions())

    async def _will_connected(self, device: Homie4Panel) -> None:
        """The will connection is (back) up: a will that fired meanwhile said ``lost``."""
        conn = self._wills[device.panel_id]
        if device.state is not None:
            await conn.publish(device.state_topic, device.state)
