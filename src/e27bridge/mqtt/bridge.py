"""The MQTT side of the daemon: one broker connection, composed of features.

Homie, HA discovery, the event stream, the bridge API and the command router are each a
``Feature`` (``mqtt/feature.py``, zigbee2mqtt-style "one feature, one place"). The bridge
subscribes to what they name, bounds every incoming message and hands it to each feature
in turn, gives each feature its own engine subscription, and republishes through them on
every (re)connect, so a broker restart loses nothing. Every call into a feature runs under
one guard (ADR-0105). The locks and tasks are the features' own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
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
from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.features import HassFeature, HomieFeature
from e27bridge.mqtt.hass import DiscoveryMode
from e27bridge.mqtt.homie4 import Homie4Feature
from e27bridge.mqtt.inbound import MAX_INBOUND_BYTES, Guard, Inbound
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.sweep import Homie5Sweep
from e27bridge.mqtt.tap import TapFeature
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.api import PanelDirectory
from e27bridge.panel.bus import Subscription
from e27bridge.panel.events import EngineEvent
from e27bridge.panel.state import PanelSnapshot

log = structlog.get_logger(__name__)

BRIDGE_ONLINE = json.dumps({"state": "online"})
BRIDGE_OFFLINE = json.dumps({"state": "offline"})
GOODBYE_TIMEOUT = 3.0  # a dead broker must not hold up shutdown


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
    tapped: frozenset[str] = frozenset()  # panels whose traffic goes to <base>/<panel>/tap


class MqttBridge:
    """The MQTT side of the daemon. ``await run()`` until cancelled; then it says goodbye."""

    def __init__(self, directory: PanelDirectory, settings: BridgeSettings) -> None:
        self._directory = directory
        self._t = t = settings.topics
        panels = directory.panels
        self._overrides = {pid: settings.overrides.get(pid, PanelOverrides()) for pid in panels}
        self._guard = Guard()
        # Command results go out on the state connection: a /set flood then waits at the
        # broker while the command connection reads nothing (ADR-0105).
        self.state_conn = MqttConnection(
            _suffixed(settings.connection, "-state"),
            will=Will(t.bridge_state, BRIDGE_OFFLINE),
            on_connect=self._state_online,
        )
        self.conn = MqttConnection(
            settings.connection,
            # without Homie v5 there is no root device: each Homie 4 device has its own will
            will=Will(t.state(t.bridge_id), "lost") if t.homie5 else None,
            on_connect=self._on_connect,
            on_message=self._on_message,
            results=self.state_conn.outbox,
        )
        coalesced = Coalescer(self.conn, settings.coalesce)
        homie = HomieFeature(
            t,
            self.conn,
            coalesced,
            self._overrides,
            self._view,
            guard=self._guard,
            unsubscribe=self.conn.unsubscribe,
        )
        self._homie = homie
        # without Homie v5, the v5 tree an earlier run left is removed (ADR-0152)
        self._sweep = Homie5Sweep(t, self.conn, list(panels), unsubscribe=self.conn.unsubscribe)
        homie4 = Homie4Feature(
            t,
            coalesced,
            self._overrides,
            self._view,
            settings.connection,
            unsubscribe=self.conn.unsubscribe,
        )
        self._router = CommandRouter(
            t,
            self.conn,
            panels,
            homie=homie.panels if t.homie5 else {},
            overrides=self._overrides,
            guard=self._guard,
            max_pending=settings.max_pending,
        )
        # Republish and stop in this order (bridge info last: "everything is in");
        # messages go to them the other way round, commands first.
        self._features: list[Feature] = [
            homie if t.homie5 else self._sweep,
            homie4,
            HassFeature(
                t,
                self.conn,
                self._overrides,
                self._view,
                guard=self._guard,
                birth_topic=settings.ha_birth_topic,
                republish_delay=settings.ha_republish_delay,
                mode=settings.discovery_mode,
            ),
            EventStream(t, self.conn),
            TapFeature(t, self.conn, panels, settings.tapped),
            BridgeTopics(
                t, self.conn, panels, settings.summary, self.republish, mqtt_state=self._mqtt_state
            ),
            self._router,
        ]
        self.conn.subscriptions = tuple(
            s for f in reversed(self._features) for s in f.subscriptions()
        )
        self.republished = asyncio.Event()  # set after every full republish (tests, health)

    @property
    def topics(self) -> Topics:
        return self._t

    @property
    def echo_grace(self) -> float:
        """Seconds the retained Homie filters stay after the ghost check (ADR-0150)."""
        return self._homie.echo_grace

    @echo_grace.setter
    def echo_grace(self, seconds: float) -> None:
        self._homie.echo_grace = self._sweep.grace = seconds

    @property
    def features(self) -> tuple[Feature, ...]:
        return tuple(self._features)

    @property
    def command_results(self) -> Mapping[tuple[str, str], int]:
        """How many ``/set`` commands ended with each status, by (panel, status)."""
        return self._router.results

    async def run(self) -> None:
        for feature in self._features:
            await self._guard.run(feature.name, "start", feature.start)
        subscriptions = [(f, self._directory.subscribe()) for f in self._features]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._consume(f, s)) for f, s in subscriptions]
            tasks.append(group.create_task(self.conn.run()))
            tasks.append(group.create_task(self.state_conn.run()))
            try:
                await asyncio.Future()  # until cancelled
            finally:
                await self._goodbye()
                for _, sub in subscriptions:
                    sub.close()
                for task in tasks:
                    task.cancel()

    async def republish(self) -> None:
        """Everything retained again, from the current snapshots (connect, ``republish``)."""
        for feature in self._features:
            await self._guard.run(feature.name, "republish", feature.republish)
        await self.conn.flush()  # publishes are pipelined: "republished" means the broker has it
        self.republished.set()
        log.info("mqtt_republished", panels=len(self._overrides))

    # -- internals -------------------------------------------------------------------------
    def _mqtt_state(self) -> dict[str, Any]:
        return {
            "connected": self.conn.connected,
            "mqtt5": self.conn.mqtt5,
            "handler_failures": self._guard.failures,
            "results_queued": len(self.conn.outbox),
            "results_dropped": self.conn.outbox.dropped,
            "commands_shed": self._router.shed,
            "backlog_peak": self.conn.backlog_peak,
        }

    def _view(self, panel_id: str) -> PanelSnapshot:
        return self._overrides[panel_id].apply(self._directory.panels[panel_id].snapshot)

    async def _on_connect(self) -> None:
        self.republished.clear()
        await self.republish()

    async def _state_online(self) -> None:
        await self.state_conn.publish(self._t.bridge_state, BRIDGE_ONLINE)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        """Every message from the broker: bounded first, then each feature under the guard."""
        inbound = Inbound.of(message)
        if inbound.too_large:
            log.warning("mqtt_payload_too_large", topic=inbound.topic, limit=MAX_INBOUND_BYTES)
        for feature in reversed(self._features):
            handle = partial(feature.handle_message, inbound)
            taken = await self._guard.run(feature.name, inbound.topic, handle)
            if taken is not False:  # taken, or failed (logged and counted by the guard)
                return

    async def _consume(self, feature: Feature, sub: Subscription) -> None:
        """One feature's engine events, each under the guard; a renderer that lags skips to
        the newest states (``latest_states``)."""
        async for event in sub:
            batch: list[EngineEvent] = [event]
            closed = False
            if feature.coalesce:
                pending = sub.take_pending()
                closed = None in pending
                batch = latest_states([event, *(e for e in pending if e is not None)])
            for each in batch:
                if each.panel_id not in self._overrides:
                    continue
                react = partial(feature.on_engine_event, each)
                await self._guard.run(feature.name, f"event:{type(each).__name__}", react)
            if closed:
                return
            await asyncio.sleep(0)  # fair: a busy consumer lets the others (and the panel) run

    async def _goodbye(self) -> None:
        """Clean shutdown: each feature stops (Homie ``disconnected``, commands in flight
        answered), results flushed, ``bridge/state`` offline."""
        for feature in self._features:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(GOODBYE_TIMEOUT):
                    await self._guard.run(feature.name, "stop", feature.stop)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                if self.state_conn.connected:
                    await self.conn.outbox.wait_empty()
        if unsent := len(self.conn.outbox):
            # Results live only in memory: what the broker has not taken by now is lost.
            connected = self.state_conn.connected
            log.warning("mqtt_results_unsent", count=unsent, broker_connected=connected)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await self.state_conn.stop(final=[(self._t.bridge_state, BRIDGE_OFFLINE)])
        await self.conn.stop()


def _suffixed(settings: ConnectionSettings, suffix: str) -> ConnectionSettings:
    return replace(settings, client_id=settings.client_id + suffix)


__all__ = ["BridgeSettings", "MqttBridge"]
