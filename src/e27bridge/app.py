"""The composition root of the daemon: configuration in, panels and MQTT running.

``Daemon`` wires the key store, one ``PanelOwner`` per configured panel, the
``PanelManager`` and the ``MqttBridge``, reports health to systemd and the health file, and
shuts down in order on SIGTERM: stop taking commands, let the in-flight request finish
(bounded), publish offline states, exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from functools import partial

import structlog

from e27bridge.daemon.config import Config, PanelConfig, TlsConfig
from e27bridge.daemon.config.secret_files import world_readable_secret_files
from e27bridge.daemon.health import WRITE_INTERVAL, write_health
from e27bridge.daemon.keystore import KeyStore, KeyStoreError
from e27bridge.daemon.systemd import SystemdNotifier
from e27bridge.metrics import Metrics, MetricsServer
from e27bridge.mqtt.bridge import BridgeSettings, MqttBridge
from e27bridge.mqtt.connection import ConnectionSettings, TlsSettings
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.bus import EventBus
from e27bridge.panel.commands import parse_pin
from e27bridge.panel.inventory import InventoryFile
from e27bridge.panel.kinds import kind_named
from e27bridge.panel.linking import link
from e27bridge.panel.manager import PanelManager
from e27bridge.panel.owner import Linker, PanelOwner, PanelSettings
from e27bridge.panel.queue import QueueSettings
from e27bridge.panel.rtt_backoff import RttBackoffSettings
from e27bridge.panel.state import ConnectionState, EntityKind
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.status import StatusBoard
from e27bridge.supervisor import Supervisor

log = structlog.get_logger("e27bridge.daemon")

STATUS_MIN_INTERVAL = 1.0  # seconds between health file writes prompted by changes
SHUTDOWN_GRACE = 3.0  # seconds for the in-flight request; the whole stop stays under 5 s


def topics_from_config(config: Config) -> Topics:
    b = config.bridge
    return Topics(b.id, b.base_topic, b.homie_prefix, b.discovery_prefix, tuple(b.homie_versions))


def tls_settings(tls: TlsConfig) -> TlsSettings | None:
    if not tls.enabled:
        return None
    return TlsSettings(tls.ca_file, tls.cert_file, tls.key_file, tls.insecure, tls.server_name)


def connection_settings(config: Config) -> ConnectionSettings:
    mqtt = config.mqtt
    return ConnectionSettings(
        host=mqtt.host,
        port=mqtt.port,
        client_id=config.mqtt_client_id,
        username=mqtt.username,
        password=mqtt.password.get_secret_value() if mqtt.password else None,
        keepalive=mqtt.keepalive,
        protocol=mqtt.protocol,
        tls=tls_settings(mqtt.tls),
        min_backoff=mqtt.reconnect_min_backoff,
        max_backoff=mqtt.reconnect_max_backoff,
    )


def overrides_from_config(panel: PanelConfig, *, read_only: bool = False) -> PanelOverrides:
    """``read_only``: the bridge-wide switch (``bridge.read_only``)."""
    names: dict[tuple[EntityKind, int], str] = {}
    classes: dict[tuple[EntityKind, int], str] = {}
    excluded: set[tuple[EntityKind, int]] = set()
    for entity_id, override in panel.entities.items():
        kind_name, number = entity_id.rsplit("-", 1)
        kind = kind_named(kind_name)
        if kind is None:
            continue  # config validation accepts only kinds that exist
        key = (kind, int(number))
        if override.name:
            names[key] = override.name
        if override.device_class:
            classes[key] = override.device_class
        if override.exclude:
            excluded.add(key)
    code = panel.bypass_code
    return PanelOverrides(
        names=names,
        device_classes=classes,
        excluded=frozenset(excluded),
        bypass_code=parse_pin(code.get_secret_value()) if code is not None else None,
        read_only=read_only or panel.read_only,
        arm_bypass_open=panel.arm_bypass_open,
        commands=tuple(panel.commands) if panel.commands is not None else None,
    )


def bridge_settings(config: Config, connection: ConnectionSettings | None = None) -> BridgeSettings:
    """The configuration as the MQTT side needs it (``connection`` replaces the broker's)."""
    b = config.bridge
    return BridgeSettings(
        topics=topics_from_config(config),
        connection=connection or connection_settings(config),
        overrides={p.id: overrides_from_config(p, read_only=b.read_only) for p in config.panels},
        ha_birth_topic=b.ha_birth_topic,
        ha_republish_delay=b.ha_republish_delay,
        discovery_mode=b.discovery_mode,
        coalesce=b.coalesce_ms / 1000,
        max_pending=config.queue.depth,
        summary=config.model_dump(mode="json"),
        tapped=frozenset(p.id for p in config.panels if p.tap),
    )


def queue_settings(config: Config) -> QueueSettings:
    q = config.queue
    return QueueSettings(
        depth=q.depth,
        command_max_age=q.command_max_age,
        min_interval=q.min_interval,
        request_timeout=q.request_timeout,
        rtt_backoff=RttBackoffSettings(**q.rtt_backoff.model_dump()),
    )


def _linker(panel: PanelConfig, store: KeyStore, identity: ClientIdentity) -> Linker | None:
    """First start only: link with the configured access code and passphrase."""
    if panel.access_code is None or panel.passphrase is None:
        return None
    access_code, passphrase = panel.access_code, panel.passphrase

    async def linker(host: str, port: int) -> LinkKeys:
        keys = await link(
            host,
            port,
            identity,
            access_code=access_code.get_secret_value(),
            passphrase=passphrase.get_secret_value(),
        )
        store.save_link(panel.mac, keys, identity)
        return keys

    return linker


def build_owner(
    panel: PanelConfig,
    config: Config,
    store: KeyStore,
    identity: ClientIdentity,
    bus: EventBus,
    *,
    supervisor: Supervisor | None = None,
) -> PanelOwner:
    stored = store.load_link(panel.mac)
    keys = stored.keys if stored is not None and stored.matches(identity) else None
    hint = store.load_host_hint(panel.mac)
    host, port = (hint.host, hint.port) if hint is not None else (panel.host, panel.port)
    settings = PanelSettings(
        panel_id=panel.id,
        mac=panel.mac,
        host=host,
        port=port,
        discovery_port=panel.discovery_port,
        broadcast=() if panel.host else ("255.255.255.255",),
        queue=queue_settings(config),
        inventory_max_age=config.bridge.inventory_max_age,
    )
    linker = _linker(panel, store, identity) if keys is None else None
    inventory = InventoryFile(config.bridge.state_dir, panel.mac)
    return PanelOwner(
        settings,
        identity,
        keys,
        hints=store,
        inventory=inventory,
        linker=linker,
        bus=bus,
        supervisor=supervisor,
    )


class Daemon:
    def __init__(self, config: Config, *, notifier: SystemdNotifier | None = None) -> None:
        self.config = config
        self.store = KeyStore(config.bridge.state_dir)
        identity = self.identity = self.store.load_or_create_identity()
        self.bus = EventBus()
        self.supervisor = Supervisor()
        owners = [
            build_owner(p, config, self.store, identity, self.bus, supervisor=self.supervisor)
            for p in config.panels
        ]
        self.manager = PanelManager(owners, self.bus)
        self.bridge = MqttBridge(self.manager, bridge_settings(config))
        self.notifier = notifier or SystemdNotifier()
        self.metrics: MetricsServer | None = None
        self.board = StatusBoard(self.manager.panels, self.manager.subscribe())
        self._stop = asyncio.Event()
        # The keys each panel started with (or was last handed): never offered twice.
        self._offered = {p.mac: self._stored_keys(p.mac) for p in config.panels}

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.request_stop)
        log.info("daemon_starting", panels=len(self.config.panels), bridge=self.config.bridge.id)
        for option, path in world_readable_secret_files(self.config):
            log.warning("secret_file_world_readable", option=option, path=str(path))
        metrics = await self._start_metrics()  # first: a busy port stops the start here
        await self.manager.start()
        if metrics is not None:
            metrics.attach()
        bridge_task = asyncio.create_task(self.bridge.run(), name="e27-mqtt")
        health_task = self.supervisor.start("health", self._health_loop)
        board_task = self.supervisor.start("status", self.board.follow)
        stop_task = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({bridge_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            if bridge_task.done():
                bridge_task.result()  # an MQTT failure ends the daemon with its error
        finally:
            stop_task.cancel()
            self.notifier.stopping("stopping")
            log.info("daemon_stopping")
            board_task.cancel()
            await self._shutdown(bridge_task, health_task)
            if self.metrics is not None:
                await self.metrics.close()
            log.info("daemon_stopped")

    async def _start_metrics(self) -> Metrics | None:
        """The Prometheus endpoint, when ``[metrics] listen`` is set."""
        address = self.config.metrics.address
        if address is None:
            return None
        metrics = Metrics(self.manager.panels, self.bridge)
        self.metrics = MetricsServer(metrics, *address)
        await self.metrics.start()
        return metrics

    async def _shutdown(self, bridge_task: asyncio.Task[None], health: asyncio.Task[None]) -> None:
        """The bridge stops taking commands and lets those in flight finish (bounded), then
        publishes offline states; the panels close last."""
        health.cancel()
        bridge_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await bridge_task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                await self.manager.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.3):
                await self.supervisor.stop()  # a unit waiting out its restart back-off

    async def _health_loop(self) -> None:
        interval = WRITE_INTERVAL
        watchdog = self.notifier.watchdog_interval
        if watchdog:
            interval = min(interval, watchdog / 2)
        ready_sent = False
        while True:
            connected = self.bridge.conn.connected
            panels = {pid: o.snapshot.connection.value for pid, o in self.manager.panels.items()}
            errors = tuple(i.summary for i in self.supervisor.recent())
            with contextlib.suppress(OSError):
                # In a thread: its two fsyncs can take 100 ms on a busy disk, and the loop
                # must keep the panel's events flowing meanwhile.
                await asyncio.to_thread(
                    partial(
                        write_health,
                        self.config.bridge.state_dir,
                        mqtt_connected=connected,
                        panels=panels,
                        internal_errors=errors,
                        status=self.board.rows(),
                    )
                )
            self._take_new_links()
            if connected and not ready_sent:
                self.notifier.ready("MQTT connected; panels started")
                ready_sent = True
                log.info("daemon_ready")
            self.notifier.watchdog()
            await self._sleep_or_connected(interval, ready_sent)

    def _stored_keys(self, mac: str) -> LinkKeys | None:
        try:
            stored = self.store.load_link(mac)
        except KeyStoreError:
            return None  # a half-written or broken file: the next look may find it whole
        return stored.keys if stored is not None and stored.matches(self.identity) else None

    def _take_new_links(self) -> None:
        """A panel in link_required connects with keys that ``e27bridge link`` stored in
        the state directory meanwhile, so linking needs no restart (systemd or Docker)."""
        for panel in self.config.panels:
            owner = self.manager.panels[panel.id]
            if owner.snapshot.connection is not ConnectionState.LINK_REQUIRED:
                continue
            keys = self._stored_keys(panel.mac)
            if keys is None or keys == self._offered.get(panel.mac):
                continue
            self._offered[panel.mac] = keys
            if owner.take_link_keys(keys):
                log.info("link_keys_found", panel=panel.id, mac=panel.mac)

    async def _sleep_or_connected(self, interval: float, ready_sent: bool) -> None:
        if ready_sent:  # a change for `e27bridge status` writes sooner, at most once a second
            try:
                await asyncio.wait_for(self.board.changed.wait(), interval)
            except TimeoutError:
                return
            self.board.changed.clear()
            await asyncio.sleep(min(interval, STATUS_MIN_INTERVAL))  # take in a burst at once
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.bridge.conn.wait_connected(), interval)
