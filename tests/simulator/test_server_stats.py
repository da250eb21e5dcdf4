"""Every stat of issue 3 item 6: requests, outstanding requests, violations, sessions, links."""

from __future__ import annotations

import json

from e27bridge.protocol.identity import ClientIdentity
from e27bridge.simulator.stats import MAX_SESSION_RECORDS, ServerStats

from .conftest import ServerHarness, wait_for


async def test_single_in_flight_client_has_no_violations(harness: ServerHarness) -> None:
    harness.server.faults.response_delay = 0.02
    client = await harness.session()
    for _ in range(5):
        await client.request("zone", "get_status", {"zone_id": 1})
    stats = harness.server.stats
    assert stats.requests_total == 5
    assert stats.in_flight_violations == 0
    assert stats.sessions[0].max_outstanding == 1
    await client.close()


async def test_pipelined_requests_are_in_flight_violations(harness: ServerHarness) -> None:
    harness.server.faults.response_delay = 0.05
    client = await harness.session()
    seqs = [client.send("zone", "get_status", {"zone_id": i}) for i in (1, 2, 3)]
    for seq in seqs:
        assert (await client.wait_reply(seq))["seq"] == seq
    stats = harness.server.stats
    assert stats.in_flight_violations == 2
    assert stats.sessions[0].in_flight_violations == 2
    assert stats.sessions[0].max_outstanding == 3
    assert stats.max_outstanding == 3
    await client.close()


async def test_strict_mode_disconnects_on_an_in_flight_violation(harness: ServerHarness) -> None:
    harness.server.strict = True
    harness.server.faults.response_delay = 0.05
    client = await harness.session()
    client.send("zone", "get_status", {"zone_id": 1})
    client.send("zone", "get_status", {"zone_id": 2})
    assert await client.closed_by_server()
    await wait_for(lambda: harness.server.stats.sessions[0].closed)
    assert harness.server.stats.sessions[0].close_reason == "in_flight_violation"
    assert harness.server.stats.in_flight_violations == 1


async def test_session_link_and_domain_counters(harness: ServerHarness) -> None:
    linker = await harness.client()
    keys = await linker.link(ClientIdentity(sn="S1"))
    await linker.close()
    bad = await harness.client()
    assert await bad.link(ClientIdentity(sn="S2"), passphrase="wrong", timeout=0.2) is None
    await bad.close()
    client = await harness.session("S3")
    await client.request("zone", "get_status", {"zone_id": 1})
    await client.request("area", "get_status", {"area_id": 1})
    await client.request("zone", "get_status", {"zone_id": 2})
    refused = await harness.client()
    s3_keys = harness.server.links.get("S3")
    assert keys is not None and s3_keys is not None
    await refused.hello(ClientIdentity(sn="S3"), s3_keys)
    snap = harness.server.stats.snapshot(harness.panel.domain_counts())
    assert snap["links_made"] == 1
    assert snap["links_refused"] == 1
    assert snap["sessions_opened"] == 1
    assert snap["sessions_refused"] == 1
    assert snap["sessions_active"] == 1
    assert snap["requests_total"] == 3
    assert snap["replies_sent"] == 3
    assert snap["domain_counts"] == {"zone": 2, "area": 1}
    assert snap["sessions"][0]["sn"] == "S3"
    json.dumps(snap)  # JSON-able for --stats-file and the control channel
    await client.close()
    await refused.close()
    await wait_for(lambda: harness.server.stats.sessions_active == 0)


def test_settled_requests_never_go_negative() -> None:
    stats = ServerStats()
    session = stats.open_session(1, "sn")
    stats.request_settled(session)
    assert session.outstanding == 0
    assert stats.request_received(session) is False
    assert stats.request_received(session) is True
    assert stats.in_flight_violations == 1


def test_closed_session_records_are_bounded_but_totals_are_not() -> None:
    stats = ServerStats()
    first = stats.open_session(1, "first")
    stats.request_received(first)
    stats.request_received(first)
    first.closed = True
    for index in range(MAX_SESSION_RECORDS):
        stats.open_session(index + 2, "sn").closed = True
    assert len(stats.sessions) == MAX_SESSION_RECORDS
    assert first not in stats.sessions
    assert stats.sessions_opened == MAX_SESSION_RECORDS + 1
    assert stats.max_outstanding == 2
    assert stats.in_flight_violations == 1
