"""Commands: MQTT ``/set`` -> panel -> result, against the ideal client in the same run.

For each broker (default mosquitto, and one with ``set_tcp_nodelay true``), pacing floor
(0 and the default 50 ms), panel service time and number of publishers: each publisher
sends ``output-N/on/set`` with an MQTT 5 response topic and waits for its result before
sending the next. ``ratio_to_ideal`` is the bridge's commands/s over the ideal client's
requests/s on one direct session under the same floor and service time.

To iterate on a few cases, ``BENCH_COMMANDS`` narrows the grid, e.g.
``BENCH_COMMANDS="floor=0 service=2 publishers=10,50 broker=nodelay"`` (values in ms; the
broker is ``default`` or ``nodelay``); unset, every case runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench import ideal
from bench.rig import client, daemon, mosquitto, ms, panel_id, percentile, simhost, wait_ready


async def _publishers(
    port: int, panel: str, publishers: int, outputs: int, seconds: float
) -> dict[str, Any]:
    """Closed loop: each publisher has one command outstanding at a time."""
    waiting: dict[bytes, asyncio.Future[bytes]] = {}
    latencies: list[float] = []
    completed: list[float] = []  # every command, warm-up included (requests per command)
    statuses: dict[str, int] = {}
    counter = itertools.count()
    warmup = min(0.5, seconds / 4)
    async with client(port) as sub, client(port) as pub:
        await sub.subscribe("bench/resp/#", qos=1)

        async def receive() -> None:
            async for message in sub.messages:
                key = message.properties.CorrelationData if message.properties else None
                future = waiting.pop(key or b"", None)
                if future is not None and not future.done():
                    future.set_result(
                        message.payload if isinstance(message.payload, bytes) else b""
                    )

        async def publisher(index: int, measure_from: float, stop_at: float) -> None:
            output = index % outputs + 1
            on = False
            while time.monotonic() < stop_at:
                on = not on
                key = str(next(counter)).encode()
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.ResponseTopic = f"bench/resp/{index}"
                props.CorrelationData = key
                future = asyncio.get_running_loop().create_future()
                waiting[key] = future
                sent = time.monotonic()
                await pub.publish(
                    f"homie/5/{panel}/output-{output}/on/set",
                    b"true" if on else b"false",
                    qos=1,
                    properties=props,
                )
                try:
                    body = await asyncio.wait_for(future, 15)
                except TimeoutError:
                    statuses["timeout"] = statuses.get("timeout", 0) + 1
                    continue
                done = time.monotonic()
                completed.append(done)
                if sent >= measure_from and done <= stop_at:
                    latencies.append(done - sent)
                    status = body.split(b'"status":"', 1)[-1].split(b'"', 1)[0].decode()
                    statuses[status] = statuses.get(status, 0) + 1

        receiver = asyncio.create_task(receive())
        start = time.monotonic()
        measure_from, stop_at = start + warmup, start + warmup + seconds
        await asyncio.gather(*(publisher(i, measure_from, stop_at) for i in range(publishers)))
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await receiver
    # Throughput: results that arrived in the window, whenever sent (a closed loop with long
    # latencies would otherwise count only the few commands both sent and done inside it).
    done_in_window = sum(1 for at in completed if measure_from <= at <= stop_at)
    return {
        "rate": round(done_in_window / seconds, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "statuses": statuses,
        "completed": len(completed),
    }


def _narrowed(name: str, values: tuple[Any, ...], parse: Any) -> tuple[Any, ...]:
    """The grid's values for ``name`` that ``BENCH_COMMANDS`` keeps (all when unset)."""
    for word in os.environ.get("BENCH_COMMANDS", "").split():
        key, _, chosen = word.partition("=")
        if key == name:
            wanted = {parse(v) for v in chosen.split(",")}
            return tuple(v for v in values if v in wanted)
    return values


async def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    profile = "small" if quick else "large"
    outputs = 2 if quick else 16
    brokers = _narrowed("broker", (False,) if quick else (False, True), lambda v: v == "nodelay")
    floors = _narrowed("floor", (0.0,) if quick else (0.0, 0.05), lambda v: float(v) / 1000)
    services = _narrowed(
        "service", (0.0, 0.010) if quick else (0.0, 0.002, 0.010), lambda v: float(v) / 1000
    )
    publisher_counts = _narrowed("publishers", (1, 10) if quick else (1, 10, 50), int)
    seconds = 1.0 if quick else 4.0
    rows: list[dict[str, Any]] = []
    async with simhost(profile) as sims:
        panel = sims.panels[0]
        control = sims.controls[0]
        keys = await ideal.linked(panel, 1)
        for nodelay, floor in itertools.product(brokers, floors):
            with mosquitto(workdir, nodelay=nodelay) as broker:
                await control.call("clear_faults")
                async with daemon(broker, [panel], min_interval=floor, workdir=workdir) as bridge:
                    await wait_ready(broker.port, [panel_id(0)], 120, bridge)
                    for service in services:
                        await control.call("set_faults", faults={"response_delay": service})
                        best = await ideal.run(panel, keys, seconds, floor)
                        for publishers in publisher_counts:
                            before = await sims.stats()
                            result = await _publishers(
                                broker.port, panel_id(0), publishers, outputs, seconds
                            )
                            after = await sims.stats()
                            done = result.pop("completed") or 1
                            requests = after["requests_total"] - before["requests_total"]
                            rows.append(
                                {
                                    "broker": broker.name,
                                    "floor_ms": floor * 1000,
                                    "service_ms": service * 1000,
                                    "publishers": publishers,
                                    **result,
                                    "ideal": best.as_dict(),
                                    "ratio_to_ideal": round(result["rate"] / best.rate, 3),
                                    # The ideal's cycle (1 / rate) is what a client sees
                                    # between asking and knowing, floor included.
                                    "latency_over_ideal_ms": (
                                        None
                                        if result["p50_ms"] is None
                                        else round(result["p50_ms"] - 1000 / best.rate, 2)
                                    ),
                                    "requests_per_command": round(requests / done, 2),
                                    "in_flight_violations": after["in_flight_violations"],
                                }
                            )
                    await control.call("clear_faults")
    return rows
