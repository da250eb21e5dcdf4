"""Banner, api_link, hello and the framed phase of the simulator's TCP server."""

from __future__ import annotations

import asyncio
import re

from e27bridge.protocol.envelope import Envelope, encode_envelope_frame
from e27bridge.protocol.framing import FramingErrorKind
from e27bridge.protocol.hello import HelloAccepted, HelloLinkRequired, HelloNoSession
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import LinkSlotsFull
from e27bridge.protocol.messages import encode_request

from .conftest import ServerHarness, make_server, wait_for


async def test_banner_has_fresh_nonce_and_local_time(harness: ServerHarness) -> None:
    first, second = await harness.client(), await harness.client()
    nonces = [await first.read_banner(), await second.read_banner()]
    for nonce in nonces:
        assert re.fullmatch(r"[0-9a-f]{40}", nonce)
    assert nonces[0] != nonces[1]
    while not first.pending_objects:
        await first.receive(1.0)
    assert re.fullmatch(r"\d{4}/\d\d/\d\d,\d\d:\d\d:\d\d", first.pending_objects[0]["LOCAL"])
    await first.close()
    await second.close()


async def test_split_banner_arrives_as_two_writes(harness: ServerHarness) -> None:
    harness.server.faults.split_banner = True
    client = await harness.client()
    first = await client.read_chunk(1.0)
    assert first.endswith(b"}") and b"nonce" in first and b"LOCAL" not in first
    assert b"LOCAL" in await client.read_chunk(1.0)
    await client.close()


async def test_api_link_then_hello_gives_a_working_session(harness: ServerHarness) -> None:
    identity = ClientIdentity(sn="A1B2C3D4E5F6")
    linker = await harness.client()
    keys = await linker.link(identity)
    assert isinstance(keys, LinkKeys)
    assert len(bytes.fromhex(keys.hmac)) == 20
    await linker.close()
    client = await harness.client()
    outcome = await client.hello(identity, keys)
    assert isinstance(outcome, HelloAccepted)
    reply = await client.request("system", "r_u_alive")
    assert reply["system"]["r_u_alive"]["error_code"] == 0
    assert harness.server.stats.links_made == 1
    assert harness.server.stats.sessions_opened == 1
    await client.close()


async def test_wrong_credentials_get_silence_and_the_socket_stays_open(
    harness: ServerHarness,
) -> None:
    client = await harness.client()
    outcome = await client.link(ClientIdentity(sn="X1"), access_code="00000000", timeout=0.3)
    assert outcome is None
    assert not await client.closed_by_server(timeout=0.2)
    assert harness.server.stats.links_refused["wrong_credentials"] == 1
    assert len(harness.server.links) == 0
    await client.close()


async def test_relinking_an_sn_replaces_its_keys_and_keeps_one_slot() -> None:
    server, _ = make_server(link_slots=1)
    await server.start()
    try:
        harness = ServerHarness(server, _)
        identity = ClientIdentity(sn="SAME")
        keys = []
        for _round in range(2):
            client = await harness.client()
            keys.append(await client.link(identity))
            await client.close()
        assert all(isinstance(k, LinkKeys) for k in keys)
        assert keys[0] != keys[1]
        assert server.links.get("SAME") == keys[1]
        assert len(server.links) == 1
        other = await harness.client()
        assert isinstance(await other.link(ClientIdentity(sn="OTHER")), LinkSlotsFull)
        assert server.stats.links_refused["no_space"] == 1
        await other.close()
    finally:
        await server.close()


async def test_link_table_full_fault_answers_not_enough_space(harness: ServerHarness) -> None:
    harness.server.faults.link_table_full = True
    client = await harness.client()
    outcome = await client.link(ClientIdentity(sn="NEW"))
    assert isinstance(outcome, LinkSlotsFull)
    assert "not enough space" in outcome.message.lower()
    assert harness.server.stats.faults_injected["link_table_full"] == 1
    await client.close()


async def test_hello_for_an_unknown_sn_is_invalid_id(harness: ServerHarness) -> None:
    client = await harness.client()
    keys = LinkKeys(enc="00" * 16, hmac="00" * 20)
    outcome = await client.hello(ClientIdentity(sn="UNKNOWN"), keys)
    assert isinstance(outcome, HelloLinkRequired) and outcome.code == 11006
    assert harness.server.stats.sessions_refused["invalid_id"] == 1
    await client.close()


async def test_second_hello_for_a_live_sn_is_refused_without_session_fields(
    harness: ServerHarness,
) -> None:
    first = await harness.session()
    identity, keys = ClientIdentity(sn="001122334455"), harness.server.links.get("001122334455")
    assert keys is not None
    second = await harness.client()
    assert isinstance(await second.hello(identity, keys), HelloNoSession)
    assert harness.server.stats.sessions_refused["duplicate_sn"] == 1
    # The first session is untouched.
    assert (await first.request("system", "r_u_alive"))["seq"] == 1
    await first.close()
    await second.close()


async def test_second_hello_replaces_the_old_session_in_replace_mode(
    harness: ServerHarness,
) -> None:
    harness.server.session_policy = "replace"
    first = await harness.session()
    keys = harness.server.links.get("001122334455")
    assert keys is not None
    second = await harness.client()
    assert isinstance(await second.hello(ClientIdentity(sn="001122334455"), keys), HelloAccepted)
    assert await first.closed_by_server()
    assert (await second.request("system", "r_u_alive"))["seq"] == 1
    assert harness.server.live_sessions == 1
    await second.close()


async def test_the_session_beyond_max_sessions_is_refused() -> None:
    server, panel = make_server(max_sessions=2)
    await server.start()
    try:
        harness = ServerHarness(server, panel)
        clients = [await harness.session(f"SN{i}") for i in range(2)]
        identity, keys = await harness.linked("SN9")
        third = await harness.client()
        assert isinstance(await third.hello(identity, keys), HelloNoSession)
        assert server.stats.sessions_refused["max_sessions"] == 1
        await clients[0].close()
        await wait_for(lambda: server.live_sessions == 1)
        fourth = await harness.client()
        assert isinstance(await fourth.hello(identity, keys), HelloAccepted)
        for client in [*clients, third, fourth]:
            await client.close()
    finally:
        await server.close()


async def test_replies_use_a_per_session_envelope_counter_from_one(
    harness: ServerHarness,
) -> None:
    a, b = await harness.session("A"), await harness.session("B")
    for client in (a, b):
        for expected_seq in (1, 2, 3):
            reply = await client.request("system", "r_u_alive")
            assert reply["seq"] == expected_seq
        assert client.envelope_seqs == [1, 2, 3]
    await a.close()
    await b.close()


async def test_broadcasts_reach_every_session(harness: ServerHarness) -> None:
    a, b = await harness.session("A"), await harness.session("B")
    await a.request("test", "broadcast")
    expected = {"seq": 0, "test": {"ping": {"error_code": 0}}}
    assert await b.next_message() == expected
    assert await a.next_message() == expected  # right after its own reply
    assert harness.server.stats.broadcasts_sent == 2
    await a.close()
    await b.close()


async def test_timer_loop_advances_the_panel_at_its_deadline(harness: ServerHarness) -> None:
    client = await harness.session()
    await client.request("test", "timer", {"after": 0.05})
    message = await client.next_message(timeout=1.0)
    assert message["test"]["timer"]["error_code"] == 0
    assert harness.panel.deadline is None
    await client.close()


async def test_frames_split_across_writes_or_sharing_one_are_served(
    harness: ServerHarness,
) -> None:
    client = await harness.session()
    assert client.key is not None
    payload = encode_request(5, client.session_id, "system", "r_u_alive", {})
    frame = encode_envelope_frame(client.key, Envelope(1, 1, 0, 0, payload))
    client.writer.write(frame[:3])
    await asyncio.sleep(0.01)
    client.writer.write(frame[3:] + frame)
    assert (await client.wait_reply(5))["seq"] == 5
    assert (await client.next_message())["seq"] == 5
    await client.close()


async def test_client_framing_errors_are_counted_and_survived(harness: ServerHarness) -> None:
    client = await harness.session()
    assert client.key is not None
    good = encode_envelope_frame(
        client.key, Envelope(1, 1, 0, 0, encode_request(7, None, "system", "r_u_alive", {}))
    )
    bad_crc = bytearray(good)
    bad_crc[-3] ^= 0x01 if bad_crc[-3] not in (0x7E, 0x7F) else 0x02
    wrong_key = encode_envelope_frame(b"\x01" * 16, Envelope(1, 1, 0, 0, b'{"seq":8}'))
    not_json = encode_envelope_frame(client.key, Envelope(2, 1, 0, 0, b"{not json"))
    client.writer.write(b"noise" + bytes(bad_crc) + wrong_key + not_json + good)
    assert (await client.wait_reply(7))["seq"] == 7
    errors = harness.server.stats.protocol_errors
    assert errors["bad_crc"] == 1
    assert errors["bad_envelope"] == 1
    assert errors["malformed_json"] == 1
    assert errors["noise"] == 1
    assert harness.server.stats.snapshot()["protocol_errors"] == 4
    await client.close()


async def test_strict_mode_closes_on_a_bad_envelope(harness: ServerHarness) -> None:
    harness.server.strict = True
    client = await harness.session()
    client.writer.write(encode_envelope_frame(b"\x02" * 16, Envelope(1, 1, 0, 0, b'{"seq":1}')))
    assert await client.closed_by_server()
    await wait_for(lambda: harness.server.live_sessions == 0)


async def test_idle_sessions_are_closed_when_configured() -> None:
    server, panel = make_server(idle_timeout=0.1)
    await server.start()
    try:
        client = await ServerHarness(server, panel).session()
        assert await client.closed_by_server(timeout=1.0)
        assert server.stats.sessions[0].close_reason == "idle_timeout"
    finally:
        await server.close()


def test_framing_error_kinds_are_stat_keys() -> None:
    # The stats use the deframer's kind names; keep them stable for the control docs.
    assert {k.value for k in FramingErrorKind} == {"noise", "bad_length", "bad_crc", "truncated"}
