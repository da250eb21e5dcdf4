"""Every fault of issue 3 item 5 that the TCP server injects, over real sockets."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from e27bridge.protocol.framing import FramingError, FramingErrorKind
from e27bridge.protocol.hello import HelloAccepted, HelloLinkRequired, HelloNoSession, HelloRejected
from e27bridge.protocol.identity import ClientIdentity
from e27bridge.simulator.faults import FaultError, FaultState, split_points

from .conftest import ServerHarness, wait_for


async def _rtt(client_request: asyncio.Future[object] | object) -> float:
    start = time.monotonic()
    await client_request  # type: ignore[misc]
    return time.monotonic() - start


async def test_response_delay_and_jitter(harness: ServerHarness) -> None:
    client = await harness.session()
    harness.server.faults.update({"response_delay": 0.15, "jitter": 0.05})
    for _ in range(3):
        rtt = await _rtt(client.request("system", "r_u_alive"))
        assert 0.15 <= rtt < 0.8
    harness.server.faults.clear()
    assert await _rtt(client.request("system", "r_u_alive")) < 0.15
    await client.close()


async def test_dropped_reply_executes_the_request_but_never_answers(
    harness: ServerHarness,
) -> None:
    client = await harness.session()
    harness.server.faults.drop_reply_probability = 1.0
    seq = client.send("output", "set_status", {"output_id": 1, "status": "ON"})
    with pytest.raises(TimeoutError):
        await client.wait_reply(seq, timeout=0.2)
    assert harness.panel.handled[-1].command == "set_status"
    assert harness.server.stats.faults_injected["drop_reply"] == 1
    # The client timed out and moved on: that is not an in-flight violation.
    harness.server.faults.drop_reply_probability = 0.0
    await client.request("system", "r_u_alive")
    assert harness.server.stats.in_flight_violations == 0
    await client.close()


async def test_late_reply_arrives_after_the_given_delay(harness: ServerHarness) -> None:
    client = await harness.session()
    harness.server.faults.update({"late_reply_probability": 1.0, "late_reply_delay": 0.3})
    start = time.monotonic()
    seq = client.send("system", "r_u_alive")
    with pytest.raises(TimeoutError):
        await client.wait_reply(seq, timeout=0.1)
    assert (await client.wait_reply(seq, timeout=1.0))["seq"] == seq
    assert time.monotonic() - start >= 0.3
    assert harness.server.stats.faults_injected["late_reply"] == 1
    await client.close()


async def test_connection_closed_after_n_requests(harness: ServerHarness) -> None:
    harness.server.faults.close_after_requests = 3
    client = await harness.session()
    await client.request("system", "r_u_alive")
    await client.request("system", "r_u_alive")
    client.send("system", "r_u_alive")
    assert await client.closed_by_server()
    assert harness.server.stats.faults_injected["close_after_requests"] == 1
    await wait_for(lambda: harness.server.stats.sessions[0].close_reason is not None)
    assert harness.server.stats.sessions[0].close_reason == "fault_close_after_requests"


async def test_connection_closed_at_random(harness: ServerHarness) -> None:
    harness.server.faults.close_probability = 1.0
    client = await harness.session()
    client.send("system", "r_u_alive")
    assert await client.closed_by_server()
    assert harness.server.stats.faults_injected["close_random"] == 1


async def test_split_frames_arrive_in_pieces_and_still_decode(harness: ServerHarness) -> None:
    client = await harness.session()
    harness.server.faults.split_frames = True
    before = len(client.chunks)
    for _ in range(10):
        reply = await client.request("system", "r_u_alive")
        assert reply["system"]["r_u_alive"]["error_code"] == 0
    assert len(client.chunks) - before > 10  # more reads than frames
    assert harness.server.stats.faults_injected["split_frame"] == 10
    assert client.framing_errors == []
    await client.close()


def test_split_points_cover_the_data_with_non_empty_pieces() -> None:
    rng = random.Random(1)
    data = bytes(range(50))
    for _ in range(50):
        pieces = split_points(data, rng)
        assert b"".join(pieces) == data
        assert 2 <= len(pieces) <= 4 and all(pieces)


async def test_garbage_between_frames_is_noise_for_the_client(harness: ServerHarness) -> None:
    client = await harness.session()
    harness.server.faults.garbage_between_frames = 1.0
    await client.request("system", "r_u_alive")
    await client.request("system", "r_u_alive")
    kinds = {e.kind for e in client.framing_errors if isinstance(e, FramingError)}
    assert kinds == {FramingErrorKind.NOISE}
    assert harness.server.stats.faults_injected["garbage"] == 2
    await client.close()


async def test_bad_crc_frames_between_frames_are_skipped_by_the_client(
    harness: ServerHarness,
) -> None:
    client = await harness.session()
    harness.server.faults.bad_crc_probability = 1.0
    for _ in range(2):
        assert (await client.request("system", "r_u_alive"))["system"]
    bad = [e for e in client.framing_errors if e.kind is FramingErrorKind.BAD_CRC]
    assert len(bad) == 2
    assert harness.server.stats.faults_injected["bad_crc"] == 2
    await client.close()


@pytest.mark.parametrize(
    ("mode", "outcome_type"), [("no_session", HelloNoSession), ("rejected", HelloRejected)]
)
async def test_hello_refusal(harness: ServerHarness, mode: str, outcome_type: type) -> None:
    identity, keys = await harness.linked()
    harness.server.faults.hello_refusal = mode  # type: ignore[assignment]
    client = await harness.client()
    outcome = await client.hello(identity, keys)
    assert isinstance(outcome, outcome_type)
    if isinstance(outcome, HelloRejected):
        assert outcome.code == harness.server.faults.hello_refusal_code
    assert harness.server.stats.sessions_refused[f"fault_{mode}"] == 1
    await client.close()


async def test_revoked_link_gets_invalid_id_and_can_close_the_live_session(
    harness: ServerHarness,
) -> None:
    live = await harness.session("REVOKED")
    keys = harness.server.links.get("REVOKED")
    assert keys is not None
    assert harness.server.revoke_link("REVOKED", close_sessions=True) == ["REVOKED"]
    assert await live.closed_by_server()
    retry = await harness.client()
    outcome = await retry.hello(ClientIdentity(sn="REVOKED"), keys)
    assert isinstance(outcome, HelloLinkRequired) and outcome.code == 11006
    await retry.close()


async def test_revoking_without_closing_keeps_the_live_session(harness: ServerHarness) -> None:
    live = await harness.session("KEEP")
    harness.server.revoke_link()
    assert len(harness.server.links) == 0
    assert (await live.request("system", "r_u_alive"))["seq"] == 1
    await live.close()


async def test_link_revoked_flag_refuses_every_hello(harness: ServerHarness) -> None:
    identity, keys = await harness.linked()
    harness.server.faults.link_revoked = True
    client = await harness.client()
    assert isinstance(await client.hello(identity, keys), HelloLinkRequired)
    assert harness.server.stats.faults_injected["link_revoked"] == 1
    await client.close()


async def test_restart_drops_sessions_closes_the_port_then_listens_on_it_again(
    harness: ServerHarness,
) -> None:
    client = await harness.session()
    port = harness.port
    restart = asyncio.create_task(harness.server.restart(0.3))
    assert await client.closed_by_server()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await restart
    assert harness.port == port
    again = await harness.client()
    identity_keys = harness.server.links.get("001122334455")
    assert identity_keys is not None
    outcome = await again.hello(ClientIdentity(sn="001122334455"), identity_keys)
    assert isinstance(outcome, HelloAccepted)
    assert harness.server.stats.faults_injected["restart"] == 1
    await again.close()


async def test_move_to_port_stops_the_old_port(harness: ServerHarness) -> None:
    client = await harness.session()
    old = harness.port
    new = await harness.server.move_to_port(0)
    assert new != old
    assert await client.closed_by_server()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", old)
    moved = await harness.client()
    assert len(await moved.read_banner()) == 40
    await moved.close()


def test_fault_settings_are_validated() -> None:
    faults = FaultState()
    faults.set("response_delay", 1)
    assert faults.response_delay == 1.0
    for name, value in [
        ("nope", 1),
        ("drop_reply_probability", 2),
        ("split_frames", 1),
        ("close_after_requests", -1),
        ("hello_refusal", "maybe"),
        ("jitter", "x"),
    ]:
        with pytest.raises(FaultError):
            faults.set(name, value)
    faults.clear()
    assert faults == FaultState()
