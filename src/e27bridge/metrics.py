"""Prometheus metrics of the running daemon, served at ``http://<metrics.listen>/metrics``.

Most values are read when scraped, from what the engine and the MQTT side keep anyway
(snapshots, queue depth, counters), so nothing in the engine calls into this module. Only
the per-request counter and latency histogram need every request's end: they listen to
each panel's queue. The HTTP endpoint is a few lines on the daemon's own event loop, so a
scrape reads the state from the thread that owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import Protocol

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _render
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from e27bridge import __version__
from e27bridge.mqtt.bridge import MqttBridge
from e27bridge.panel.owner import PanelOwner
from e27bridge.panel.queue import QueueResult, RequestQueue
from e27bridge.panel.state import ConnectionState
from e27bridge.protocol.requests import RequestSpec

log = structlog.get_logger("e27bridge.metrics")

# Request round trips: a healthy panel answers in tens of milliseconds, a busy one in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
READ_LIMIT = 8192  # bytes of request head we accept from a scraper


class Metrics:
    """One registry per daemon (tests run several daemons in one process)."""

    def __init__(self, panels: Mapping[str, PanelOwner], mqtt: MqttBridge) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._panels = panels
        self._requests = Counter(
            "e27bridge_panel_requests",
            "Requests to a panel that ended, by domain and outcome",
            ["panel", "domain", "outcome"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "e27bridge_panel_request_duration_seconds",
            "Round trip of requests the panel answered, by domain",
            ["panel", "domain"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._queues: dict[str, RequestQueue] = {}  # filled by ``attach``
        self.registry.register(_LiveValues(panels, mqtt, self._queues))

    def attach(self) -> None:
        """Listen to every panel's queue (the owners must be started)."""
        for panel_id, owner in self._panels.items():
            owner.queue.listeners.append(self._listener(panel_id))
            self._queues[panel_id] = owner.queue

    def _listener(self, panel_id: str) -> _RequestListener:
        def done(spec: RequestSpec, result: QueueResult) -> None:
            self._requests.labels(panel_id, spec.domain, result.outcome.value).inc()
            if result.rtt is not None:
                self._latency.labels(panel_id, spec.domain).observe(result.rtt)

        return done

    def render(self) -> bytes:
        return _render(self.registry)


class _RequestListener(Protocol):
    def __call__(self, spec: RequestSpec, result: QueueResult) -> None: ...


class _LiveValues(Collector):
    """Values read at scrape time from the snapshots, the queues and the MQTT side."""

    def __init__(
        self,
        panels: Mapping[str, PanelOwner],
        mqtt: MqttBridge,
        queues: Mapping[str, RequestQueue],
    ) -> None:
        self._panels = panels
        self._mqtt = mqtt
        self._queues = queues

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("e27bridge_info", "The running version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        state = GaugeMetricFamily(
            "e27bridge_panel_connection_state",
            "1 for the panel's current connection state, 0 for the others",
            labels=["panel", "state"],
        )
        depth = GaugeMetricFamily(
            "e27bridge_panel_queue_depth",
            "Requests waiting or in flight",
            labels=["panel"],
        )
        rtt = GaugeMetricFamily(
            "e27bridge_panel_rtt_seconds",
            "Round trip of the last answered request",
            labels=["panel"],
        )
        rest = GaugeMetricFamily(
            "e27bridge_panel_rtt_backoff_seconds",
            "Extra rest after each reply while the panel's round trips rise (ADR-0015)",
            labels=["panel"],
        )
        reconnects = CounterMetricFamily(
            "e27bridge_panel_reconnects", "Sessions lost and started again", labels=["panel"]
        )
        for panel_id, owner in self._panels.items():
            connection = owner.snapshot.connection
            for each in ConnectionState:
                state.add_metric([panel_id, each.value], float(connection is each))
            health = owner.live_health
            depth.add_metric([panel_id], health.queue_depth)
            if health.rtt_ms is not None:
                rtt.add_metric([panel_id], health.rtt_ms / 1000)
            if panel_id in self._queues:
                rest.add_metric([panel_id], self._queues[panel_id].rest)
            reconnects.add_metric([panel_id], health.reconnects)
        yield from (state, depth, rtt, rest, reconnects)
        yield from self._mqtt_values()

    def _mqtt_values(self) -> Iterator[Metric]:
        commands = CounterMetricFamily(
            "e27bridge_commands",
            "MQTT /set commands answered, by panel and status",
            labels=["panel", "status"],
        )
        for (panel_id, status), count in sorted(self._mqtt.command_results.items()):
            commands.add_metric([panel_id, status], count)
        yield commands
        conns = (self._mqtt.conn, self._mqtt.state_conn)
        yield GaugeMetricFamily(
            "e27bridge_mqtt_connected",
            "1 while connected to the broker",
            float(self._mqtt.conn.connected),
        )
        yield CounterMetricFamily(
            "e27bridge_mqtt_messages_published",
            "Messages the broker accepted from the bridge",
            sum(c.published for c in conns),
        )
        yield CounterMetricFamily(
            "e27bridge_mqtt_connects",
            "Connections made to the broker",
            self._mqtt.conn.connects,
        )


class MetricsServer:
    """``GET /metrics`` over HTTP/1.0 on the daemon's loop; anything else is 404."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (``listen`` may ask for port 0)."""
        assert self._server is not None
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self._host, self._port)
        except OSError as exc:
            where = f"{self._host}:{self._port}"
            raise OSError(f"metrics: cannot listen on {where}: {exc.strerror or exc}") from exc
        log.info("metrics_listening", host=self._host, port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
            method, path = _request_line(head)
            if method in ("GET", "HEAD") and path.split("?", 1)[0] == "/metrics":
                body = self._metrics.render()
                status, ctype = "200 OK", CONTENT_TYPE_LATEST
            else:
                body, status, ctype = b"not found: try /metrics\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a scraper that hangs up or talks nonsense gets nothing
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _request_line(head: bytes) -> tuple[str, str]:
    first = head[:READ_LIMIT].split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split()
    return (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
