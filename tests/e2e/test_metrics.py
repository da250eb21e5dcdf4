"""Prometheus metrics scraped over HTTP from a daemon in a real session (simulator, mosquitto)."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from .conftest import PANEL, H, InProcessDaemon, StackFactory

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(port: int, path: str) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: metrics\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)  # the server closes after one answer
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


async def scrape(port: int) -> Samples:
    head, body = await get(port, "/metrics")
    assert head.startswith(b"HTTP/1.0 200 OK"), head
    assert b"Content-Type: text/plain; version=" in head  # the exposition format
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


async def test_metrics_scraped_during_a_session(stack: StackFactory) -> None:
    async with stack(extra_config='[metrics]\nlisten = "127.0.0.1:0"\n') as s:
        assert isinstance(s.daemon, InProcessDaemon)
        server = s.daemon.daemon.metrics
        assert server is not None
        port = server.port

        before = await scrape(port)
        assert value(before, "e27bridge_panel_connection_state", panel=PANEL, state="ready") == 1
        assert (
            value(before, "e27bridge_panel_connection_state", panel=PANEL, state="connecting") == 0
        )
        assert value(before, "e27bridge_mqtt_connected") == 1
        assert value(before, "e27bridge_panel_queue_depth", panel=PANEL) >= 0
        assert value(before, "e27bridge_panel_reconnects_total", panel=PANEL) == 0
        assert value(before, "e27bridge_panel_rtt_seconds", panel=PANEL) > 0
        assert value(before, "e27bridge_panel_rtt_backoff_seconds", panel=PANEL) == 0
        # the bootstrap's reads, counted by domain and outcome, with their round trips
        zone_reads = value(
            before, "e27bridge_panel_requests_total", panel=PANEL, domain="zone", outcome="ok"
        )
        assert zone_reads >= 1
        assert (
            value(
                before, "e27bridge_panel_request_duration_seconds_count", panel=PANEL, domain="zone"
            )
            >= 1
        )

        _, ok = await s.command(f"{H}/output-1/on/set", "true")
        assert ok["status"] == "ok"
        _, invalid = await s.command(f"{H}/output-1/on/set", "maybe")
        assert invalid["status"] == "invalid"

        after = await scrape(port)
        assert value(after, "e27bridge_commands_total", panel=PANEL, status="ok") == 1
        assert value(after, "e27bridge_commands_total", panel=PANEL, status="invalid") == 1
        assert (
            value(
                after, "e27bridge_panel_requests_total", panel=PANEL, domain="output", outcome="ok"
            )
            >= 1
        )
        assert (
            value(
                after,
                "e27bridge_panel_request_duration_seconds_bucket",
                panel=PANEL,
                domain="output",
                le="+Inf",
            )
            >= 1
        )
        published = value(after, "e27bridge_mqtt_messages_published_total")
        assert published > value(before, "e27bridge_mqtt_messages_published_total")

        head, _ = await get(port, "/")
        assert head.startswith(b"HTTP/1.0 404")

        mark = s.listener.mark()
        s.sim.drop_sessions()
        await s.wait_ready(mark)
        again = await scrape(port)
        assert value(again, "e27bridge_panel_reconnects_total", panel=PANEL) == 1
        assert value(again, "e27bridge_panel_connection_state", panel=PANEL, state="ready") == 1


async def test_metrics_are_off_by_default(stack: StackFactory) -> None:
    async with stack() as s:
        assert isinstance(s.daemon, InProcessDaemon)
        assert s.daemon.daemon.metrics is None
