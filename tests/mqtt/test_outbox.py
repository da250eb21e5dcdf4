"""The result queue: bounded, oldest dropped and counted, one warning per burst."""

from __future__ import annotations

from structlog.testing import capture_logs

from e27bridge.mqtt.outbox import Outbox, Result


def test_a_full_outbox_drops_the_oldest_counts_and_warns_once_per_burst() -> None:
    outbox = Outbox(limit=3)
    with capture_logs() as logs:
        for n in range(6):
            outbox.put(Result("r", str(n)))
    assert len(outbox) == 3 and outbox.dropped == 3
    assert [e["event"] for e in logs] == ["mqtt_results_dropped"]
    assert [r.payload for r in outbox] == ["3", "4", "5"]
