"""The two retained renderings as features: the Homie v5 tree and Home Assistant discovery.

Each holds its own lock (one rendering at a time, so a republish and an engine event never
interleave) and its own tasks (ghost clean-up, the delayed republish after HA's birth).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial

import structlog

from e27bridge.mqtt.coalesce import Coalescer
from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.hass import ConfigBuilder, DiscoveryMode, HassPanel, Origin
from e27bridge.mqtt.homie import HomiePanel, HomieRoot, VersionClock
from e27bridge.mqtt.inbound import Guard, Inbound
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.events import ConnectionChanged, EngineEvent, SnapshotReplaced
from e27bridge.panel.state import PanelSnapshot

log = structlog.get_logger(__name__)

LEGACY_BIRTH_TOPIC = "hass/status"
ECHO_GRACE = 5.0  # s after the first ghost check: retained topics from before are in

View = Callable[[str], PanelSnapshot]  # panel id -> its current snapshot, overrides applied
Unsubscribe = Callable[..., Awaitable[None]]  # filters to drop on this connection


class HomieFeature(Feature):
    """The Homie root and one device per panel; clears retained ghosts of earlier runs."""

    name = "homie"
    coalesce = True

    def __init__(
        self,
        topics: Topics,
        sink: Sink,
        coalesced: Coalescer,
        overrides: Mapping[str, PanelOverrides],
        view: View,
        *,
        guard: Guard,
        unsubscribe: Unsubscribe,
    ) -> None:
        self._t = topics
        self._sink = sink
        self._coalesced = coalesced
        self._unsubscribe = unsubscribe
        self._overrides = overrides
        self._view = view
        self._guard = guard
        clock = VersionClock()
        panel_ids = sorted(overrides)
        self._root = HomieRoot(topics, sink, panel_ids, clock)
        self.panels = {
            pid: HomiePanel(topics, coalesced, pid, clock, overrides[pid].writable)
            for pid in panel_ids
        }
        self._lock = asyncio.Lock()
        self._ghost_checks: dict[str, asyncio.Task[None]] = {}
        self._echo_stops: dict[str, asyncio.Task[None]] = {}  # per connection (ADR-0150)
        self.echo_grace = ECHO_GRACE

    def subscriptions(self) -> Sequence[str]:
        """Values, alerts and ``$target`` of our panel devices, to find ghosts on connect.

        None of them overlaps the ``/set`` filter, so no broker delivers a command twice.
        """
        return [f for pid in self.panels for f in self._filters(pid)]

    def _filters(self, panel_id: str) -> list[str]:
        device = self._t.device(panel_id)
        return [f"{device}/+/+", f"{device}/+/+/$target"]

    async def republish(self) -> None:
        for task in self._echo_stops.values():  # after a connect the filters are back
            task.cancel()
        self._echo_stops.clear()
        await self._root.publish_all()
        async with self._lock:
            for pid, homie in self.panels.items():
                await homie.publish_all(self._view(pid))
        await self._coalesced.flush()
        await self._root.ready()

    async def handle_message(self, message: Inbound) -> bool:
        """A retained topic under one of our devices; ghosts are cleared in a task of their
        own so the message loop never waits for the rendering lock."""
        if not message.retain:
            return False
        for pid, homie in self.panels.items():
            if message.topic.startswith(self._t.device(pid) + "/"):
                due = homie.learn_retained(message.topic, message.payload)
                if due and pid not in self._ghost_checks:
                    clear = partial(self._clear_ghosts, pid)
                    self._ghost_checks[pid] = asyncio.create_task(
                        self._guard.run("homie_ghosts", message.topic, clear)
                    )
                return True
        return False

    async def on_engine_event(self, event: EngineEvent) -> None:
        # The snapshot carried by the event, not the latest one: a consumer that lags must
        # still walk through every $state (init while bootstrapping, then ready).
        if isinstance(event, SnapshotReplaced) and event.panel_id in self.panels:
            view = self._overrides[event.panel_id].apply(event.snapshot)
            async with self._lock:
                await self.panels[event.panel_id].sync(view)

    async def stop(self) -> None:
        """Homie ``disconnected`` for every panel device and the root."""
        for task in [*self._ghost_checks.values(), *self._echo_stops.values()]:
            task.cancel()
        await self._coalesced.close()
        for pid in self.panels:
            await self._sink.publish(self._t.state(pid), "disconnected")
        await self._root.disconnected()

    async def _clear_ghosts(self, panel_id: str) -> None:
        async with self._lock:
            self._ghost_checks.pop(panel_id, None)
            await self.panels[panel_id].clear_ghosts()
        if panel_id not in self._echo_stops:
            self._echo_stops[panel_id] = asyncio.create_task(self._stop_echo(panel_id))

    async def _stop_echo(self, panel_id: str) -> None:
        """Retained topics from before arrive right after subscribing; once the device is
        ready and they have been judged, every further message on these filters would be
        our own publishes coming back, so the subscription ends until the next connect."""
        await asyncio.sleep(self.echo_grace)
        await self._unsubscribe(*self._filters(panel_id))
        log.info("homie_ghost_check_done", panel=panel_id)


class HassFeature(Feature):
    """One HA device discovery config per panel; republished after HA's birth message."""

    name = "hass"
    coalesce = True

    def __init__(
        self,
        topics: Topics,
        sink: Sink,
        overrides: Mapping[str, PanelOverrides],
        view: View,
        *,
        guard: Guard,
        birth_topic: str,
        republish_delay: float,
        mode: DiscoveryMode = "device",
    ) -> None:
        self._t = topics
        self._view = view
        self._guard = guard
        self._birth_topics = sorted({birth_topic, LEGACY_BIRTH_TOPIC})
        self._delay = republish_delay
        origin = Origin()
        self._panels = {
            pid: HassPanel(topics, sink, pid, ConfigBuilder(topics, pid, rules, origin), mode)
            for pid, rules in overrides.items()
        }
        self._lock = asyncio.Lock()
        self._birth_task: asyncio.Task[None] | None = None

    def subscriptions(self) -> Sequence[str]:
        components = (self._t.hass_component_filter(pid) for pid in sorted(self._panels))
        return [self._t.hass_config_filter, *components, *self._birth_topics]

    async def republish(self) -> None:
        async with self._lock:
            for pid, hass in self._panels.items():
                await hass.sync(self._view(pid), force=True)

    async def handle_message(self, message: Inbound) -> bool:
        if message.topic in self._birth_topics:
            if message.payload == b"online":
                self._schedule_birth_republish(message.topic)
            return True
        # Our discovery configs of either form, retained from an earlier run.
        component = self._t.parse_hass_component(message.topic)
        panel_id = self._t.parse_hass_config(message.topic) or (component and component[1])
        if panel_id not in self._panels or not message.retain:
            return False
        async with self._lock:
            await self._panels[panel_id].learn_retained(message.topic, message.payload)
        return True

    async def on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, SnapshotReplaced | ConnectionChanged) and event.panel_id in (
            self._panels
        ):
            async with self._lock:
                await self._panels[event.panel_id].sync(self._view(event.panel_id))

    async def stop(self) -> None:
        if self._birth_task is not None:
            self._birth_task.cancel()

    def _schedule_birth_republish(self, topic: str) -> None:
        if self._birth_task is not None and not self._birth_task.done():
            self._birth_task.cancel()
        self._birth_task = asyncio.create_task(
            self._guard.run("hass_birth", topic, self._birth_republish)
        )

    async def _birth_republish(self) -> None:
        await asyncio.sleep(self._delay)
        log.info("hass_birth_republish")
        async with self._lock:
            for hass in self._panels.values():
                await hass.republish()


__all__ = ["LEGACY_BIRTH_TOPIC", "HassFeature", "HomieFeature"]
