"""A ``/set`` flood from many MQTT clients against a running daemon: results and RSS.

Used by the reliability test (a small flood) and by ``bench/bench_flood.py`` (20,000
commands from 50 clients). Every command carries its own transaction id, so "exactly one
result per command" is checked by counting them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt

from e2e.conftest import PIN, RESPONSE, H

# mosquitto drops QoS 1 messages for a subscriber beyond 1,000 queued by default: a flood
# the bridge takes more slowly than it arrives would lose commands there (ADR-0105).
BROKER_CONFIG = "max_queued_messages 100000\n"


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class FloodReport:
    commands: int
    results: Counter[str] = field(default_factory=Counter)  # transaction -> results seen
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    idle_rss_kib: int = 0
    peak_rss_kib: int = 0
    seconds: float = 0.0

    @property
    def missing(self) -> int:
        return sum(1 for n in range(self.commands) if self.results[f"f-{n}"] == 0)

    @property
    def duplicated(self) -> int:
        return sum(1 for count in self.results.values() if count > 1)

    @property
    def growth_mib(self) -> float:
        return (self.peak_rss_kib - self.idle_rss_kib) / 1024

    def line(self) -> str:
        return (
            f"commands={self.commands} results={sum(self.results.values())} "
            f"missing={self.missing} duplicated={self.duplicated} "
            f"statuses={dict(self.statuses)} reasons={dict(self.reasons)} "
            f"idle_rss={self.idle_rss_kib / 1024:.1f}MiB "
            f"peak_rss={self.peak_rss_kib / 1024:.1f}MiB "
            f"growth={self.growth_mib:.1f}MiB took={self.seconds:.1f}s"
        )


async def _client(port: int, first: int, count: int, step: int) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        for n in range(first, count, step):
            body = json.dumps({"action": "disarm", "code": PIN, "transaction": f"f-{n}"})
            await client.publish(f"{H}/area-1/command/set", body, qos=1)


async def _sample(pid: int, report: FloodReport, stop: asyncio.Event) -> None:
    while not stop.is_set():
        report.peak_rss_kib = max(report.peak_rss_kib, rss_kib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)


async def flood(
    port: int, pid: int, commands: int, clients: int, timeout: float = 300
) -> FloodReport:
    """Publish ``commands`` disarms from ``clients`` connections; collect every result."""
    report = FloodReport(commands)
    report.idle_rss_kib = report.peak_rss_kib = rss_kib(pid)
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(pid, report, stop))
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as sub:
        await sub.subscribe(RESPONSE, qos=1)
        senders = [asyncio.create_task(_client(port, i, commands, clients)) for i in range(clients)]

        async def collect() -> None:
            async for message in sub.messages:
                result = json.loads(message.payload)  # type: ignore[arg-type]
                transaction = result.get("transaction")
                if not (isinstance(transaction, str) and transaction.startswith("f-")):
                    continue
                report.results[transaction] += 1
                report.statuses[result["status"]] += 1
                if result["error"]:
                    report.reasons[result["error"]["reason"]] += 1
                if len(report.results) == commands:
                    return

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collect(), timeout)
        await asyncio.gather(*senders)
        report.seconds = loop.time() - started
        await asyncio.sleep(0.5)  # a duplicate would show up now
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                async for message in sub.messages:
                    transaction = json.loads(message.payload).get("transaction")  # type: ignore[arg-type]
                    report.results[str(transaction)] += 1
    stop.set()
    await sampler
    return report
