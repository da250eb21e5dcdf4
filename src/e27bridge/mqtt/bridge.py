"""Wires the MQTT features to a ``PanelDirectory``: each feature follows the engine alone.

Homie, HA discovery, the event stream and bridge info each hold their own engine
subscription (zigbee2mqtt-style "one feature, one place"); the command router and bridge
requests take messages from the broker. Everything retained is rebuilt from the current
snapshots on every (re)connect, so a broker restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import aiomqtt
import structlog

from e27bridge.mqtt.backlog import latest_states
from e27bridge.mqtt.bridge_topics import BridgeTopics
from e27bridge.mqtt.coalesce import Coalescer
from e27bridge.mqtt.commands import CommandRouter
from e27bridge.mqtt.connection import ConnectionSettings, MqttConnection, Will
from e27bridge.mqtt.events import EventStream
from e27bridge.mqtt.hass import ConfigBuilder, DiscoveryMode, HassPanel, Origin
from e27bridge.mqtt.homie import HomiePanel, HomieRoot, VersionClock
from e27bridge.mqtt.inbound import MAX_INBOUND_BYTES, Guard, Inbound
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.api import PanelDirectory
from e27bridge.panel.bus import Subscription
from e27bridge.panel.events import ConnectionChanged, EngineEvent, PanelEvent, SnapshotReplaced

log = structlog.get_logger(__name__)

BRIDGE_ONLINE = json.dumps({"state": "online"})
BRIDGE_OFFLINE = json.dumps({"state": "offline"})
LEGACY_BIRTH_TOPIC = "hass/status"
GOODBYE_TIMEOUT = 3.0  # a dead broker must not hold up shutdown
ECHO_GRACE = 5.0  # s after the first ghost check: retained topics from before are in


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    """What the MQTT side needs of the configuration (the composition root maps it)."""

    topics: Topics
    connection: ConnectionSettings
    overrides: Mapping[str, PanelOverrides] = field(default_factory=dict)  # by panel id
    ha_birth_topic: str = "homeassistant/status"
    ha_republish_delay: float = 5.0
    discovery_mode: DiscoveryMode = "device"
    coalesce: float = 0.0  # seconds
    max_pending: int = 64  # commands of ours per panel queue
    summary: Mapping[str, Any] = field(default_factory=dict)  # for bridge/info, no secrets


class MqttBridge:
    """The MQTT side of the daemon. ``await run()`` until cancelled; then it says goodbye."""

    def __init__(
        self,
        directory: PanelDirectory,
        settings: BridgeSettings,
    ) -> None:
        self._directory = directory
        self._settings = settings
        self._t = settings.topics
        panels = directory.panels
        self._overrides = {pid: settings.overrides.get(pid, PanelOverrides()) for pid in panels}
        self._birth_topics = {settings.ha_birth_topic, LEGACY_BIRTH_TOPIC}
        self.conn = MqttConnection(
            settings.connection,
            will=Will(self._t.state(self._t.bridge_id), "lost"),
            subscriptions=[
                self._t.set_filter,
                self._t.bridge_request_filter,
                self._t.hass_config_filter,
                *(self._t.hass_component_filter(pid) for pid in sorted(panels)),
                *sorted(self._birth_topics),
                *self._retained_homie_filters(sorted(panels)),
            ],
            on_connect=self._on_connect,
            on_message=self._on_message,
        )
        self.state_conn = MqttConnection(
            _suffixed(settings.connection, "-state"),
            will=Will(self._t.bridge_state, BRIDGE_OFFLINE),
            on_connect=self._state_online,
        )
        self._sink = Coalescer(self.conn, settings.coalesce)
        clock = VersionClock()
        self._root = HomieRoot(self._t, self.conn, sorted(panels), clock)
        self._homie = {
            pid: HomiePanel(self._t, self._sink, pid, clock, self._overrides[pid].writable)
            for pid in panels
        }
        origin = Origin()
        self._hass = {
            pid: HassPanel(
                self._t,
                self.conn,
                pid,
                ConfigBuilder(self._t, pid, self._overrides[pid], origin),
                settings.discovery_mode,
            )
            for pid in panels
        }
        self._events = EventStream(self._t, self.conn)
        self._guard = Guard()
        self._router = CommandRouter(
            self._t,
            self.conn,
            panels,
            homie=self._homie,
            overrides=self._overrides,
            guard=self._guard,
            max_pending=settings.max_pending,
        )
        self._bridge = BridgeTopics(
            self._t,
            self.conn,
            panels,
            settings.summary,
            self.republish,
            mqtt_state=self._mqtt_state,
        )
        self._homie_lock = asyncio.Lock()
        self._hass_lock = asyncio.Lock()
        self._birth_task: asyncio.Task[None] | None = None
        self._ghost_checks: dict[str, asyncio.Task[None]] = {}
        self._echo_stops: dict[str, asyncio.Task[None]] = {}  # per connection (ADR-0150)
        self.echo_grace = ECHO_GRACE
        self._handlers: list[tuple[str, Callable[[Inbound], Awaitable[bool]]]] = [
            ("commands", self._router.handle),
            ("bridge_requests", self._bridge.handle),
            ("hass_birth", self._birth),
            ("homie_retained", self._retained_homie),
            ("hass_retained", self._retained_hass),
        ]
        self.republished = asyncio.Event()  # set after every full republish (tests, health)

    @property
    def topics(self) -> Topics:
        return self._t

    @property
    def command_results(self) -> Mapping[tuple[str, str], int]:
        """How many ``/set`` commands ended with each status, by (panel, status)."""
        return self._router.results

    async def run(self) -> None:
        # Homie and the HA config render state: a backlog collapses to its newest snapshots.
        # The event stream and bridge info report every event.
        consumers: list[tuple[Callable[[EngineEvent], Awaitable[None]], Subscription, bool]] = [
            (self._homie_event, self._directory.subscribe(), True),
            (self._hass_event, self._directory.subscribe(), True),
            (self._stream_event, self._directory.subscribe(), False),
            (self._info_event, self._directory.subscribe(), False),
        ]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._consume(f, s, c)) for f, s, c in consumers]
            tasks.append(group.create_task(self.conn.run()))
            tasks.append(group.create_task(self.state_conn.run()))
            try:
                await asyncio.Future()  # until cancelled
            finally:
                await self._goodbye()
                for sub in (s for _, s, _ in consumers):
                    sub.close()
                for task in tasks:
                    task.cancel()

    async def republish(self) -> None:
        """Everything retained again, from the current snapshots (connect, ``republish``)."""
        await self._root.publish_all()
        async with self._homie_lock:
            for pid, homie in self._homie.items():
                await homie.publish_all(self._view(pid))
        await self._sink.flush()
        await self._root.ready()
        async with self._hass_lock:
            for pid, hass in self._hass.items():
                await hass.sync(self._view(pid), force=True)
        await self._bridge.publish_info()
        await self.conn.flush()  # publishes are pipelined: "republished" means the broker has it
        self.republished.set()
        log.info("mqtt_republished", panels=len(self._homie))

    # -- internals -------------------------------------------------------------------------
    def _mqtt_state(self) -> dict[str, Any]:
        return {
            "connected": self.conn.connected,
            "mqtt5": self.conn.mqtt5,
            "handler_failures": self._guard.failures,
            "results_queued": len(self.conn.outbox),
            "results_dropped": self.conn.outbox.dropped,
            "commands_shed": self._router.shed,
        }

    def _view(self, panel_id: str) -> Any:
        return self._overrides[panel_id].apply(self._directory.panels[panel_id].snapshot)

    async def _on_connect(self) -> None:
        self.republished.clear()
        for task in self._echo_stops.values():  # a new connection subscribed again
            task.cancel()
        self._echo_stops.clear()
        await self.republish()

    async def _state_online(self) -> None:
        await self.state_conn.publish(self._t.bridge_state, BRIDGE_ONLINE)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        """Every message from the broker: bounded first, then each handler under the guard."""
        inbound = Inbound.of(message)
        if inbound.too_large:
            log.warning("mqtt_payload_too_large", topic=inbound.topic, limit=MAX_INBOUND_BYTES)
        for name, handler in self._handlers:
            taken = await self._guard.run(name, inbound.topic, partial(handler, inbound))
            if taken is not False:  # taken, or failed (logged and counted by the guard)
                return

    async def _birth(self, message: Inbound) -> bool:
        if message.topic not in self._birth_topics:
            return False
        if message.payload == b"online":
            self._schedule_birth_republish()
        return True

    async def _retained_homie(self, message: Inbound) -> bool:
        return message.retain and self._learn_homie(message.topic, message.payload)

    async def _retained_hass(self, message: Inbound) -> bool:
        """Our discovery configs of either form, retained from an earlier run."""
        component = self._t.parse_hass_component(message.topic)
        panel_id = self._t.parse_hass_config(message.topic) or (component and component[1])
        if panel_id not in self._hass or not message.retain:
            return False
        async with self._hass_lock:
            await self._hass[panel_id].learn_retained(message.topic, message.payload)
        return True

    def _retained_homie_filters(self, panel_ids: list[str]) -> list[str]:
        """Values, alerts and ``$target`` of our panel devices, to find ghosts on connect.

        None of them overlaps the ``/set`` filter, so no broker delivers a command twice.
        """
        filters: list[str] = []
        for pid in panel_ids:
            device = self._t.device(pid)
            filters += [f"{device}/+/+", f"{device}/+/+/$target"]
        return filters

    def _learn_homie(self, topic: str, payload: bytes) -> bool:
        """A retained topic under one of our panel devices; ghosts are cleared in a task of
        their own so the message loop never waits for the publishing lock."""
        for pid, homie in self._homie.items():
            if topic.startswith(self._t.device(pid) + "/"):
                due = homie.learn_retained(topic, payload)
                if due and pid not in self._ghost_checks:
                    self._ghost_checks[pid] = asyncio.create_task(
                        self._guard.run("homie_ghosts", topic, partial(self._clear_ghosts, pid))
                    )
                return True
        return False

    async def _clear_ghosts(self, panel_id: str) -> None:
        async with self._homie_lock:
            self._ghost_checks.pop(panel_id, None)
            await self._homie[panel_id].clear_ghosts()
        if panel_id not in self._echo_stops:
            self._echo_stops[panel_id] = asyncio.create_task(self._stop_echo(panel_id))

    async def _stop_echo(self, panel_id: str) -> None:
        """Retained topics from before arrive right after subscribing; once the device is
        ready and they have been judged, every further message on these filters would be
        our own publishes coming back, so the subscription ends until the next connect."""
        await asyncio.sleep(self.echo_grace)
        await self.conn.unsubscribe(*self._retained_homie_filters([panel_id]))
        log.info("homie_ghost_check_done", panel=panel_id)

    def _schedule_birth_republish(self) -> None:
        if self._birth_task is not None and not self._birth_task.done():
            self._birth_task.cancel()
        self._birth_task = asyncio.create_task(
            self._guard.run("hass_birth", LEGACY_BIRTH_TOPIC, self._birth_republish)
        )

    async def _birth_republish(self) -> None:
        await asyncio.sleep(self._settings.ha_republish_delay)
        log.info("hass_birth_republish")
        async with self._hass_lock:
            for hass in self._hass.values():
                await hass.republish()

    async def _consume(
        self,
        handler: Callable[[EngineEvent], Awaitable[None]],
        sub: Subscription,
        coalesce: bool,
    ) -> None:
        async for event in sub:
            batch: list[EngineEvent] = [event]
            closed = False
            if coalesce:
                pending = sub.take_pending()
                closed = None in pending
                batch = latest_states([event, *(e for e in pending if e is not None)])
            for each in batch:
                if each.panel_id not in self._homie:
                    continue
                try:
                    await handler(each)
                except Exception:  # one bad event must not stop a feature
                    log.exception("mqtt_feature_failed", handler=handler.__name__)
            if closed:
                return
            await asyncio.sleep(0)  # fair: a busy consumer lets the others (and the panel) run

    async def _homie_event(self, event: EngineEvent) -> None:
        # The snapshot carried by the event, not the latest one: a consumer that lags must
        # still walk through every $state (init while bootstrapping, then ready).
        if isinstance(event, SnapshotReplaced):
            view = self._overrides[event.panel_id].apply(event.snapshot)
            async with self._homie_lock:
                await self._homie[event.panel_id].sync(view)

    async def _hass_event(self, event: EngineEvent) -> None:
        if isinstance(event, SnapshotReplaced | ConnectionChanged):
            async with self._hass_lock:
                await self._hass[event.panel_id].sync(self._view(event.panel_id))

    async def _stream_event(self, event: EngineEvent) -> None:
        if isinstance(event, PanelEvent | ConnectionChanged):
            await self._events.handle(event)

    async def _info_event(self, event: EngineEvent) -> None:
        if isinstance(event, ConnectionChanged):
            await self._bridge.publish_info()

    async def _goodbye(self) -> None:
        """Clean shutdown: Homie ``disconnected`` (root and panels), ``bridge/state`` offline."""
        if self._birth_task is not None:
            self._birth_task.cancel()
        for task in [*self._ghost_checks.values(), *self._echo_stops.values()]:
            task.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await self._goodbye_messages()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await self._router.drain()
                if self.conn.connected:
                    await self.conn.outbox.wait_empty()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await self.state_conn.stop(final=[(self._t.bridge_state, BRIDGE_OFFLINE)])
        await self.conn.stop()

    async def _goodbye_messages(self) -> None:
        await self._sink.close()
        for pid in self._homie:
            await self.conn.publish(self._t.state(pid), "disconnected")
        await self._root.disconnected()


def _suffixed(settings: ConnectionSettings, suffix: str) -> ConnectionSettings:
    return replace(settings, client_id=settings.client_id + suffix)


__all__ = ["BridgeSettings", "MqttBridge"]
