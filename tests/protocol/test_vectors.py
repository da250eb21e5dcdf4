"""Reproduce every vector of ``tests/data/vectors.json`` with e27bridge's own code.

Each vector is its own test id; ``test_every_vector_is_checked`` makes sure no vector in the
file is silently skipped. Where e27bridge intentionally differs from the reference library
that generated the vectors, the check says so next to the assertion.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e27bridge.protocol import cleartext, discovery, envelope, framing, models, paging, requests
from e27bridge.protocol.cleartext import JsonObjectReader, dumps
from e27bridge.protocol.correlator import Correlator, EndReason
from e27bridge.protocol.crc import crc16
from e27bridge.protocol.crypto import (
    IV,
    aes_cbc_encrypt,
    decrypt_hello_field,
    encrypt_hello_field,
    schema0_decrypt,
    schema0_encrypt,
    swap32,
    swapped_key,
)
from e27bridge.protocol.discovery import banner_nonce, build_banner, build_reply, parse_reply
from e27bridge.protocol.envelope import (
    Envelope,
    EnvelopeCounter,
    decode_envelope,
    encode_envelope,
    encode_envelope_frame,
    padding_for,
)
from e27bridge.protocol.errors import EnvelopeError, MalformedMessage, PanelErrorCode, PanelRejected
from e27bridge.protocol.framing import Deframer, Frame, FramingError, FramingErrorKind
from e27bridge.protocol.hello import (
    HelloAccepted,
    HelloLinkRequired,
    HelloNoSession,
    build_hello_accept,
    build_hello_request,
    classify_hello_reply,
    find_hello_reply,
    parse_hello_request,
)
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import (
    LinkProof,
    LinkRefused,
    LinkReplyReader,
    LinkSlotsFull,
    build_link_reply,
    build_link_request,
    classify_link_reply,
    derive_link_proof,
    parse_link_request,
    sha1_hex,
)
from e27bridge.protocol.messages import (
    Inbound,
    MessageKind,
    SeqAllocator,
    decode_message,
    encode_request,
    parse_request,
)
from e27bridge.simulator.config import LEVEL_ANY_USER, LEVEL_INSTALLER, LEVEL_MASTER
from e27bridge.simulator.panel import PERMISSIONS

VECTORS_PATH = Path(__file__).resolve().parents[1] / "data" / "vectors.json"
DOCUMENT: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
VECTORS: dict[str, dict[str, Any]] = {vector["name"]: vector for vector in DOCUMENT["vectors"]}

Check = Callable[[dict[str, Any], dict[str, Any]], None]
CHECKS: dict[str, Check] = {}


def check(*names: str) -> Callable[[Check], Check]:
    """Register one function as the check of one or more vectors."""

    def register(function: Check) -> Check:
        for name in names:
            assert name not in CHECKS, f"two checks for {name}"
            CHECKS[name] = function
        return function

    return register


@pytest.mark.parametrize("name", list(VECTORS))
def test_vector(name: str) -> None:
    vector = VECTORS[name]
    CHECKS[name](vector["inputs"], vector["expected"])


def test_every_vector_is_checked() -> None:
    assert len(VECTORS) == DOCUMENT["count"] == 67
    assert set(CHECKS) == set(VECTORS)


# --------------------------------------------------------------------------- helpers


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frame_no_crc(frame: Frame) -> bytes:
    """The reference's view of a good frame: protocol, length (LE) and data, no CRC."""
    return bytes([frame.protocol]) + (len(frame.data) + 5).to_bytes(2, "little") + frame.data


def deframe(chunks: list[bytes]) -> tuple[list[Frame], list[FramingError]]:
    deframer = Deframer()
    events = [event for chunk in chunks for event in deframer.feed(chunk)]
    events += deframer.flush_noise()
    frames = [event for event in events if isinstance(event, Frame)]
    errors = [event for event in events if isinstance(event, FramingError)]
    assert len(frames) + len(errors) == len(events)
    return frames, errors


def identity_from(fields: dict[str, str]) -> ClientIdentity:
    return ClientIdentity(
        sn=fields["sn"],
        mn=fields["mn"],
        fwver=fields["fwver"],
        hwver=fields["hwver"],
        osver=fields["osver"],
    )


def request_from_text(text: str) -> bytes:
    """Rebuild a request with ``encode_request`` from the parsed text of a vector."""
    message = json.loads(text)
    seq = message.pop("seq")
    session_id = message.pop("session_id", None)
    ((domain, body),) = message.items()
    if domain == "authenticate":
        return encode_request(seq, session_id, domain, None, body)
    ((command, args),) = body.items()
    return encode_request(seq, session_id, domain, command, args)


# --------------------------------------------------------------------------- crc16


@check(
    "crc16_empty",
    "crc16_check_string",
    "crc16_single_startchar",
    "crc16_header_only_empty_frame",
    "crc16_ascii_E27",
    "crc16_all_ff_16",
)
def check_crc16(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    data = h(inputs["data_hex"])
    crc = crc16(data)
    assert crc == expected["crc16"]
    assert f"{crc:04x}" == expected["crc16_hex"]
    assert crc.to_bytes(2, "little").hex() == expected["crc_bytes_on_wire_le_hex"]
    # The residue property: CRC over data followed by its LE CRC is 0.
    assert crc16(data + crc.to_bytes(2, "little")) == 0


@check("crc16_residue_and_chaining")
def check_crc16_chaining(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frame = h(inputs["unescaped_frame_without_crc_hex"])
    split = inputs["split_at"]
    first = crc16(frame[:split])
    assert f"{first:04x}" == expected["crc_of_first_part_hex"]
    chained = crc16(frame[split:], first)
    assert f"{chained:04x}" == expected["chained_result_hex"] == expected["crc16_hex"]
    assert crc16(frame) == chained
    assert crc16(frame + chained.to_bytes(2, "little")) == expected["crc_over_frame_including_crc"]


# --------------------------------------------------------------------------- swap32 / padding


@check("swap32_16_bytes", "swap32_8_bytes")
def check_swap32(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    data = h(inputs["data_hex"])
    assert swap32(data).hex() == expected["swapped_hex"]
    assert swap32(h(expected["swapped_hex"])) == data


@check("block_padding_table")
def check_block_padding(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    # The reference indexes by whole envelope length (9 + payload); ours by payload length.
    table = expected["padding_by_length"]
    assert [int(key) for key in table] == inputs["lengths"]
    key = bytes(16)
    for length_text, padding in table.items():
        length = int(length_text)
        assert padding_for(length - 9) == padding
        if length >= 9:
            protocol, ciphertext = encode_envelope(key, Envelope(1, 1, 0, 0, b"x" * (length - 9)))
            assert protocol == 0x80 | padding
            assert len(ciphertext) == length + padding


# --------------------------------------------------------------------------- framing


@check(
    "frame_empty_data",
    "frame_ascii_OK",
    "frame_data_contains_7e",
    "frame_data_multiple_7e",
    "frame_length_low_byte_is_7e",
    "frame_crc_contains_7e",
    "frame_one_aes_block",
)
def check_frame(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    protocol, data = inputs["protocol_byte"], h(inputs["data_hex"])
    wire = framing.encode_frame(protocol, data)
    assert wire.hex() == expected["wire_hex"]
    unescaped = h(expected["unescaped_frame_hex"])
    assert int.from_bytes(unescaped[1:3], "little") == expected["length_field"]
    assert f"{crc16(unescaped[:-2]):04x}" == expected["crc16_hex"]
    assert wire == b"\x7e" + framing.escape(unescaped)
    frames, errors = deframe([wire])
    assert frames == [Frame(protocol, data)]
    assert errors == []
    assert frame_no_crc(frames[0]).hex() == expected["frame_no_crc_hex"]


# --------------------------------------------------------------------------- deframing


def _deframe_vector(inputs: dict[str, Any]) -> tuple[list[str], list[FramingError]]:
    frames, errors = deframe([h(chunk) for chunk in inputs["chunks_hex"]])
    return [frame_no_crc(frame).hex() for frame in frames], errors


@check("deframe_split_across_chunks", "deframe_escape_split_across_reads")
def check_deframe_split(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["ok_frames_no_crc"]
    assert errors == []
    # The same bytes as one chunk and one byte at a time give the same frames.
    stream = b"".join(h(chunk) for chunk in inputs["chunks_hex"])
    assert [frame_no_crc(f).hex() for f in deframe([stream])[0]] == frames
    single = [stream[i : i + 1] for i in range(len(stream))]
    assert [frame_no_crc(f).hex() for f in deframe(single)[0]] == frames


@check("deframe_three_frames_one_chunk")
def check_deframe_three(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["ok_frames_no_crc"]
    assert errors == []


@check("deframe_noise_and_cleartext_preamble")
def check_deframe_noise(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["ok_frames_no_crc"]
    # Reference: one FRAMING_ERROR per discarded byte (37). Ours: one NOISE value per run,
    # carrying the number of bytes, so the totals agree.
    assert {error.kind for error in errors} == {FramingErrorKind.NOISE}
    assert (
        sum(error.discarded for error in errors)
        == expected["reference_error_counts"]["FRAMING_ERROR"]
    )


@check("deframe_resync_start_mid_frame")
def check_deframe_resync(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["ok_frames_no_crc"]
    # The reference reports nothing for the dropped partial frame; we report it as a value.
    assert [error.kind for error in errors] == [FramingErrorKind.TRUNCATED]


@check("deframe_bad_crc_then_good")
def check_deframe_bad_crc(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["ok_frames_no_crc"]
    assert [error.kind for error in errors] == [FramingErrorKind.BAD_CRC]
    assert len(errors) == expected["reference_error_counts"]["BAD_CRC"]


@check("deframe_length_out_of_range")
def check_deframe_bad_length(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["ok_frames_no_crc"]
    kinds = [error.kind for error in errors]
    # Reference: OVERFLOW once, then one FRAMING_ERROR per skipped byte (3).
    assert kinds == [FramingErrorKind.BAD_LENGTH, FramingErrorKind.NOISE]
    assert errors[1].discarded == expected["reference_error_counts"]["FRAMING_ERROR"]
    assert (
        kinds.count(FramingErrorKind.BAD_LENGTH) == expected["reference_error_counts"]["OVERFLOW"]
    )


@check("deframe_reference_bug_length_equals_protocol")
def check_deframe_reference_bug(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    # The reference loses this frame (reference_ok_frames_no_crc == []); we implement the
    # plain algorithm of protocol §4.4 and must deliver it.
    assert expected["reference_ok_frames_no_crc"] == []
    frames, errors = _deframe_vector(inputs)
    assert frames == expected["correct_ok_frames_no_crc"]
    assert errors == []
    frame = h(frames[0])
    assert frame[0] == frame[1] == 0x85
    payload_length = len(inputs["json_payload"].encode())
    assert 0x80 | padding_for(payload_length) == 0x85
    assert len(frame) - 3 == 9 + payload_length + padding_for(payload_length)


# --------------------------------------------------------------------------- schema 0


@check(
    "schema0_keepalive_request",
    "schema0_area_get_status_request",
    "schema0_panel_reply_src0_dest1",
    "schema0_broadcast_seq0",
    "schema0_utf8_payload",
)
def check_schema0_message(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    key = h(inputs["session_key_hex"])
    payload = inputs["json_text"].encode("utf-8")
    assert payload.hex() == inputs["json_utf8_hex"]
    # Our serialiser reproduces the reference's exact text (compact, raw UTF-8).
    assert dumps(json.loads(inputs["json_text"])) == payload
    env = Envelope(inputs["envelope_seq"], inputs["src"], inputs["dest"], inputs["head"], payload)
    protocol, ciphertext = encode_envelope(key, env)
    assert protocol == expected["protocol_byte"]
    assert protocol & 0x0F == expected["padding_len"]
    assert ciphertext.hex() == expected["ciphertext_hex"]
    plain = h(expected["plaintext_envelope_hex"])
    assert schema0_decrypt(key, ciphertext) == plain
    assert plain[len(plain) - expected["padding_len"] - 2 :][:2].hex() == expected["magic_le_hex"]
    wire = encode_envelope_frame(key, env)
    assert wire.hex() == expected["wire_frame_hex"]
    frames, errors = deframe([wire])
    assert errors == []
    assert len(frames[0].data) + 5 == expected["length_field"]
    assert decode_envelope(key, frames[0]) == env


@check("schema0_padding_0", "schema0_padding_15")
def check_schema0_padding(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    key = h(inputs["session_key_hex"])
    payload = h(inputs["payload_hex"])
    env = Envelope(inputs["envelope_seq"], inputs["src"], inputs["dest"], inputs["head"], payload)
    protocol, ciphertext = encode_envelope(key, env)
    assert protocol == expected["protocol_byte"]
    assert ciphertext.hex() == expected["ciphertext_hex"]
    assert schema0_decrypt(key, ciphertext).hex() == expected["plaintext_envelope_hex"]
    assert decode_envelope(key, Frame(protocol, ciphertext)) == env


@check("schema0_intermediate_steps")
def check_schema0_steps(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    key = h(inputs["session_key_hex"])
    payload = inputs["json_text"].encode()
    env = Envelope(inputs["envelope_seq"], inputs["src"], inputs["dest"], inputs["head"], payload)
    protocol, ciphertext = encode_envelope(key, env)
    assert protocol == expected["protocol_byte"]
    plain = h(expected["plaintext_envelope_hex"])
    first = swap32(plain)
    assert first.hex() == expected["after_first_swap_hex"]
    after_aes = aes_cbc_encrypt(key, first)
    assert after_aes.hex() == expected["after_aes_hex"]
    assert swap32(after_aes).hex() == expected["ciphertext_hex"] == ciphertext.hex()
    assert schema0_encrypt(key, plain) == ciphertext
    assert schema0_decrypt(key, ciphertext) == plain


@check("schema0_wrong_key_magic_mismatch")
def check_schema0_wrong_key(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    assert expected["wrong_key_result"] == expected["protocol_byte_0x00_result"]
    ciphertext = h(inputs["ciphertext_hex"])
    frame = Frame(inputs["protocol_byte"], ciphertext)
    good = decode_envelope(h(inputs["correct_key_hex"]), frame)
    assert json.loads(good.payload)  # the correct key gives a JSON payload
    with pytest.raises(EnvelopeError, match="MAGIC"):
        decode_envelope(h(inputs["wrong_key_hex"]), frame)
    with pytest.raises(EnvelopeError):
        decode_envelope(h(inputs["correct_key_hex"]), Frame(0x00, ciphertext))


# --------------------------------------------------------------------------- session


@check("session_encode_first_two_requests")
def check_session_encode(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    key = h(inputs["session_key_hex"])
    counter = EnvelopeCounter()
    wires: list[str] = []
    seqs: list[int] = []
    for message in inputs["messages"]:
        text = request_from_text(json.dumps(message))
        assert text == dumps(message)
        seq = counter.next()
        seqs.append(seq)
        wires.append(encode_envelope_frame(key, Envelope(seq, 1, 0, 0, text)).hex())
    assert seqs == expected["envelope_seqs"]
    assert wires == expected["wire_frames_hex"]


@check("envelope_seq_wrap")
def check_envelope_seq_wrap(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    # The reference's _wrap_seq maps out-of-range values to 1. Our counter starts near the
    # edge and must give the same sequence and keep the same "never 0" rule.
    assert envelope.SEQ_MAX == inputs["next_after"] == 2147483647
    assert EnvelopeCounter().next() == 1
    counter = EnvelopeCounter(start=inputs["values"][0])
    produced = [counter.next() for _ in inputs["values"]]
    assert produced == [*expected["wrapped"][:3], 2]
    assert produced[2] == expected["next_envelope_seq"]
    assert 0 not in produced
    # The wrapped value still packs into the 4-byte LE field.
    encode_envelope(bytes(16), Envelope(envelope.SEQ_MAX, 1, 0, 0, b"{}"))


@check("session_recv_two_frames_one_read")
def check_session_recv(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    key = h(inputs["session_key_hex"])
    fields = inputs["panel_envelope_fields"]
    frames, errors = deframe([h(inputs["rx_stream_hex"])])
    assert errors == []
    envelopes = [decode_envelope(key, frame) for frame in frames]
    assert [env.seq for env in envelopes] == fields["envelope_seqs"]
    assert {(env.src, env.dest, env.head) for env in envelopes} == {
        (fields["src"], fields["dest"], fields["head"])
    }
    assert [json.loads(env.payload) for env in envelopes] == expected["messages"]
    inbound = [decode_message(env.payload) for env in envelopes]
    assert [m.kind for m in inbound] == [MessageKind.BROADCAST, MessageKind.REPLY]
    assert [(m.domain, m.command, m.seq) for m in inbound] == [
        ("zone", "get_status", 0),
        ("area", "get_table_info", 2),
    ]
    assert inbound[0].session_id == 1234567
    assert inbound[1].body["table_csm"] == 4660


@check("authenticate_reply_adopts_session_id")
def check_authenticate_adopts(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    # Ours correlates the authenticate reply by its nested seq (the reference "promotes" it
    # the same way in its kernel); the nested session_id is reported as the message's.
    reply = decode_message(dumps(inputs["reply"]))
    assert reply.kind is MessageKind.REPLY
    assert reply.seq == 30
    assert reply.domain == "authenticate"
    assert reply.command is None
    assert reply.ok
    assert reply.session_id == expected["session_id_after"]
    assert reply.session_id != inputs["session_id_before"]
    correlator = Correlator()
    correlator.sent(30, now=0.0, timeout=5.0)
    ended = correlator.received(reply, now=1.0)
    assert ended is not None
    assert ended.reason is EndReason.REPLY
    # The next request carries the adopted session id.
    text = encode_request(31, reply.session_id, "area", "get_status", {"area_id": 1})
    assert json.loads(text)["session_id"] == 2244432999
    # domain_csms is the reference's kernel bookkeeping (empty on this path); the csm fields
    # stay available in the body for whoever tracks them.
    assert expected["domain_csms"] == {}
    assert reply.body["area_csm"] == 11


# --------------------------------------------------------------------------- linking


@check("link_hash_doc_example", "link_hash_default_identity")
def check_link_hash(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    sn, mn = inputs["sn"], inputs["mn"]
    hash1 = sha1_hex(f"{inputs['access_code']}:{sn}:{inputs['passphrase']}")
    hash2 = sha1_hex(f"{sn}:{inputs['nonce']}:{mn}")
    hash3 = sha1_hex(f"{hash1}:{inputs['cnonce']}:{hash2}")
    assert (hash1, hash2, hash3) == (expected["hash1"], expected["hash2"], expected["hash3"])
    proof = derive_link_proof(
        access_code=inputs["access_code"],
        passphrase=inputs["passphrase"],
        identity=ClientIdentity(sn=sn, mn=mn),
        nonce=inputs["nonce"],
        cnonce=inputs["cnonce"],
    )
    assert proof.password == expected["pass"]
    assert proof.tempkey_hex == expected["tempkey_hex"]
    assert swapped_key(proof.tempkey_hex).hex() == expected["tempkey_aes_key_hex"]
    assert expected["pass"] not in repr(proof)
    assert expected["tempkey_hex"] not in repr(proof)


@check("api_link_request_text")
def check_api_link_request(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    identity = identity_from(inputs)
    proof = LinkProof(password=inputs["pass"], tempkey_hex="00" * 16)
    text = build_link_request(identity, proof, inputs["cnonce"])
    assert text.decode() == expected["text"]
    assert text.hex() == expected["utf8_hex"]
    assert json.loads(text)["seq"] == inputs["seq"]
    # Panel side reads it back.
    request = parse_link_request(json.loads(text))
    assert request is not None
    assert request.identity == identity
    assert (request.password, request.cnonce) == (inputs["pass"], inputs["cnonce"])


@check("api_link_response_decrypt")
def check_api_link_response(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    tempkey = inputs["tempkey_hex"]
    key = swapped_key(tempkey)
    assert key.hex() == expected["tempkey_aes_key_hex"]
    wire = h(inputs["wire_frame_hex"])
    frames, _ = deframe([wire])
    assert frames[0].protocol == expected["protocol_byte"]
    assert frames[0].data.hex() == expected["ciphertext_hex"]
    assert schema0_decrypt(key, frames[0].data).hex() == expected["plaintext_envelope_hex"]
    env = decode_envelope(key, frames[0])
    assert env.head == expected["ack_byte"]
    assert env.payload.decode() == expected["json_text"]
    reader = LinkReplyReader(LinkProof(password="00000000", tempkey_hex=tempkey))
    # Split the reply anywhere: nothing until the last byte, then the keys.
    assert reader.feed(wire[:40]) is None
    outcome = reader.feed(wire[40:])
    assert outcome == LinkKeys(enc=expected["linkkey_hex"], hmac=expected["linkhmac_hex"])
    assert reader.ack == expected["ack_byte"]
    # Panel side produces byte-identical wire for the same envelope fields.
    body = json.loads(expected["json_text"])["api_link"]
    assert build_link_reply(tempkey, body, head=0) == wire


@check("api_link_refusals")
def check_api_link_refusals(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    full = classify_link_reply([inputs["slots_full_reply"]])
    assert isinstance(full, LinkSlotsFull)
    assert expected["slots_full"]["exception"] == "E27LinkSlotsFull"
    assert full.message == expected["slots_full"]["panel_error_message"]
    # Case-insensitive, and also as a bare root object without ``api_link``.
    bare = {"error_code": 11005, "error_message": "NOT ENOUGH SPACE"}
    assert isinstance(classify_link_reply([bare]), LinkSlotsFull)
    other = classify_link_reply([inputs["other_reply"]])
    assert expected["other"] == "E27ProtocolError"
    assert other == LinkRefused(11004, None)
    # The same refusals through the whole encrypted path.
    tempkey = "473b3ebe29daa09665e2064ea8b00953"
    for reply, kind in (
        (inputs["slots_full_reply"], LinkSlotsFull),
        (inputs["other_reply"], LinkRefused),
    ):
        reader = LinkReplyReader(LinkProof(password="00000000", tempkey_hex=tempkey))
        assert isinstance(reader.feed(build_link_reply(tempkey, reply["api_link"])), kind)


@check("api_link_full_exchange")
def check_api_link_exchange(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    identity = identity_from(inputs["identity"])
    banner = inputs["panel_sends_on_connect"].encode()
    reader = JsonObjectReader()
    # The banner may arrive split anywhere; the nonce appears once its object is complete.
    objects = reader.feed(banner[:17]) + reader.feed(banner[17:])
    nonces = [n for n in (banner_nonce(obj) for obj in objects) if n]
    assert nonces == ["77274bf43c1400329c8362bacec79fe93323722c"]
    proof = derive_link_proof(
        access_code=inputs["access_code"],
        passphrase=inputs["passphrase"],
        identity=identity,
        nonce=nonces[0],
        cnonce=inputs["cnonce"],
    )
    assert proof.tempkey_hex == expected["tempkey_hex"]
    sent = build_link_request(identity, proof, inputs["cnonce"])
    assert sent.decode() == expected["client_sent_text"]
    # Panel side: recompute pass from the request and the stored secrets.
    request = parse_link_request(json.loads(sent))
    assert request is not None
    panel_proof = derive_link_proof(
        access_code=inputs["access_code"],
        passphrase=inputs["passphrase"],
        identity=request.identity,
        nonce=nonces[0],
        cnonce=request.cnonce,
    )
    assert panel_proof.password == request.password
    # Client side: a late LOCAL object before the frame is skipped by the deframer.
    link_reader = LinkReplyReader(proof)
    assert link_reader.feed(b'{"LOCAL":"2025/12/26,18:44:01"}') is None
    outcome = link_reader.feed(h(inputs["panel_reply_wire_hex"]))
    assert outcome == LinkKeys(enc=expected["linkkey_hex"], hmac=expected["linkhmac_hex"])


# --------------------------------------------------------------------------- hello


@check("hello_sk_decrypt")
def check_hello_sk(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    link = inputs["linkkey_hex"]
    assert swapped_key(link).hex() == expected["linkkey_aes_key_hex"]
    session_key = decrypt_hello_field(link, inputs["sk_hex"])
    assert session_key.hex() == expected["session_key_hex"]
    assert encrypt_hello_field(link, session_key) == inputs["sk_hex"]


@check("hello_shm_decrypt")
def check_hello_shm(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    link = inputs["linkkey_hex"]
    session_hmac = decrypt_hello_field(link, inputs["shm_hex"])
    assert session_hmac.hex() == expected["session_hmac_hex"]
    assert encrypt_hello_field(link, session_hmac) == inputs["shm_hex"]


@check("hello_request_text")
def check_hello_request(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    identity = identity_from(inputs["identity"])
    text = build_hello_request(identity, seq=inputs["seq"])
    assert text.decode() == expected["text"]
    assert text.hex() == expected["utf8_hex"]
    assert build_hello_request(identity) == text  # 110 is the default
    assert parse_hello_request(json.loads(text)) == (110, identity)


@check("hello_full_exchange")
def check_hello_exchange(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    link_keys = LinkKeys(enc=inputs["linkkey_hex"], hmac="00" * 20)
    identity = ClientIdentity(sn="001122334455")
    assert build_hello_request(identity).decode() == expected["client_sent_text"]
    stream = (inputs["panel_sends_on_connect"] + inputs["panel_hello_reply"]).encode()
    # Every split point: the banner and the reply may share a read or be cut anywhere.
    for split in range(len(stream) + 1):
        reader = JsonObjectReader()
        objects = reader.feed(stream[:split]) + reader.feed(stream[split:])
        assert len(objects) == 3
        reply = find_hello_reply(objects)
        assert reply is not None
        assert reader.take_remainder() == b""
        assert reply == json.loads(inputs["panel_hello_reply"])
    outcome = classify_hello_reply(json.loads(inputs["panel_hello_reply"]), link_keys)
    assert isinstance(outcome, HelloAccepted)
    assert outcome.session_id == expected["session_id"]
    assert outcome.session_key.hex() == expected["session_key_hex"]
    assert outcome.session_hmac.hex() == expected["session_hmac_hex"]
    assert expected["session_key_hex"] not in repr(outcome)
    # Panel side reproduces the reply text byte for byte.
    accept = build_hello_accept(
        seq=110,
        link_keys=link_keys,
        session_id=outcome.session_id,
        session_key=outcome.session_key,
        session_hmac=outcome.session_hmac,
    )
    assert accept.decode() == inputs["panel_hello_reply"]


@check("hello_rejected_invalid_id")
def check_hello_rejected(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    link_keys = LinkKeys(enc="00" * 16, hmac="00" * 20)
    outcome = classify_hello_reply(inputs["panel_hello_reply"], link_keys)
    assert expected["exception"] == "E27HelloLinkRequired"
    assert outcome == HelloLinkRequired(expected["panel_error_code"], "invalid_id")
    # 11008 is treated the same way (protocol §7.2).
    noauth = classify_hello_reply({"hello": {"error_code": 11008}}, link_keys)
    assert noauth == HelloLinkRequired(11008, None)


@check("hello_no_session_fields")
def check_hello_no_session(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    link_keys = LinkKeys(enc="00" * 16, hmac="00" * 20)
    outcome = classify_hello_reply(inputs["panel_hello_reply"], link_keys)
    assert expected["exception"] == "E27HelloNoSession"
    assert expected["panel_error_code"] is None
    assert outcome == HelloNoSession(tuple(expected["missing"]))
    # error_code absent behaves the same.
    assert classify_hello_reply({"hello": {}}, link_keys) == outcome


# --------------------------------------------------------------------------- discovery


@check("tcp_connect_banner_parse")
def check_banner(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    data = inputs["bytes_text"].encode()
    objects = JsonObjectReader().feed(data)
    assert [banner_nonce(obj) for obj in objects] == [expected["nonce"], None]
    assert objects[1]["LOCAL"] == expected["LOCAL"]
    assert build_banner(expected["nonce"], expected["LOCAL"]) == data


@check("discovery_reply_decode")
def check_discovery_reply(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    announcement = parse_reply(inputs["reply_text"].encode(), "127.0.0.1")
    assert announcement is not None
    # The reference lower-cases the colon form; we keep the 12-digit normalised form.
    assert announcement.mac == expected["normalized_mac"]
    assert discovery.format_mac(announcement.mac).lower() == expected["panel_mac"]
    assert announcement.host == expected["panel_host"]
    assert announcement.name == expected["panel_name"]
    assert announcement.serial == expected["panel_serial"]
    assert (announcement.port, announcement.tls_port) == (expected["port"], expected["tls_port"])
    rebuilt = build_reply(
        name=announcement.name,
        mac=announcement.mac,
        ipv4=announcement.reported_ipv4,
        port=announcement.port,
        tls_port=announcement.tls_port,
        serial=announcement.serial,
    )
    assert rebuilt.decode() == inputs["reply_text"]


@check("discovery_probe_roundtrip")
def check_discovery_probe(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    assert inputs["udp_port"] == discovery.DISCOVERY_PORT
    assert discovery.PROBE.decode() == inputs["probe_text"]
    assert [p.encode() for p in expected["probe_bytes_seen_by_responder"]] == [discovery.PROBE]
    assert discovery.is_probe(discovery.PROBE)
    assert discovery.is_probe(b'{ "FIND" : "ELKWCID" }')
    assert parse_reply(discovery.PROBE, "127.0.0.1") is None  # our own probe echoed back
    (result,) = expected["scan_result"]
    reply = build_reply(
        name=result["panel_name"],
        mac=result["panel_mac"],
        ipv4=result["panel_host"],
        port=result["port"],
        tls_port=result["tls_port"],
    )
    announcement = parse_reply(reply, result["panel_host"])
    assert announcement is not None
    assert discovery.format_mac(announcement.mac).lower() == result["panel_mac"]
    assert (announcement.host, announcement.port, announcement.tls_port, announcement.name) == (
        result["panel_host"],
        result["port"],
        result["tls_port"],
        result["panel_name"],
    )


# --------------------------------------------------------------------------- JSON messages


@check("json_seq_allocation")
def check_seq_allocation(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    near_wrap = SeqAllocator(start=inputs["start"])
    assert [near_wrap.next() for _ in range(4)] == expected["sequence_near_wrap"]
    fresh = SeqAllocator()
    assert [fresh.next() for _ in range(3)] == expected["first_three_of_new_kernel"]
    with pytest.raises(ValueError):
        SeqAllocator(start=0)


_REFERENCE_KIND = {
    "DIRECTED": MessageKind.REPLY,
    "BROADCAST": MessageKind.BROADCAST,
    "UNKNOWN": MessageKind.UNCORRELATED,
}


@check("inbound_route_and_kind")
def check_inbound_routing(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    results = expected["results"]
    assert [r["message"] for r in results] == inputs["messages"]
    ours: list[Inbound | None] = []
    for result in results:
        try:
            ours.append(decode_message(dumps(result["message"])))
        except MalformedMessage:
            ours.append(None)

    def same_as_reference(index: int) -> Inbound:
        inbound, result = ours[index], results[index]
        assert inbound is not None
        assert inbound.kind is _REFERENCE_KIND[result["kind"]]
        assert inbound.seq == result["seq"]
        return inbound

    # Form A: normal reply.
    a = same_as_reference(0)
    assert (a.domain, a.command) == tuple(results[0]["route"]) == ("area", "get_status")
    assert a.ok
    # Broadcast with a root session_id.
    b = same_as_reference(1)
    assert (b.domain, b.command) == tuple(results[1]["route"])
    assert b.session_id == 65536
    # hello: INTENTIONAL DIFFERENCE. The reference has no root seq -> UNKNOWN. We take the
    # nested seq (as the reference kernel does for authenticate), so it correlates.
    hello = ours[2]
    assert results[2]["kind"] == "UNKNOWN"
    assert hello is not None
    assert (hello.kind, hello.seq, hello.domain, hello.command) == (
        MessageKind.REPLY,
        10,
        "hello",
        None,
    )
    assert hello.session_id == 2244432638
    # Form E: root-level error broadcast.
    e = same_as_reference(3)
    assert results[3]["route"] == ["__error__", "panel_error"]
    assert (e.domain, e.command, e.error_code, e.error_message) == (
        None,
        None,
        11008,
        "no authorization",
    )
    # Form D: domain-level error (the reference's (domain, "error") route = command None).
    d = same_as_reference(4)
    assert results[4]["route"] == ["network", "error"]
    assert (d.domain, d.command, d.error_code) == ("network", None, 11008)
    with pytest.raises(PanelRejected, match="11008"):
        d.raise_for_error()
    # Form C: INTENTIONAL DIFFERENCE. The reference routes a non-object command value to
    # (network, "error"); we keep the command name and expose the value.
    c = same_as_reference(5)
    assert results[5]["route"] == ["network", "error"]
    assert (c.domain, c.command, c.value, c.error_code) == ("network", "get_ssid", "HomeWiFi", 0)
    # Form F: INTENTIONAL DIFFERENCE. authenticate correlates by its nested seq.
    auth = ours[6]
    assert results[6]["kind"] == "UNKNOWN"
    assert auth is not None
    assert (auth.kind, auth.seq, auth.domain, auth.session_id) == (
        MessageKind.REPLY,
        30,
        "authenticate",
        2244432999,
    )
    # Negative seq: the reference routes it with an "invalid_seq" error; we refuse the
    # message as malformed (a typed error, never an uncaught exception).
    assert results[7]["route_errors"] == ["invalid_seq"]
    assert ours[7] is None


def _check_request_texts(messages: list[dict[str, Any]]) -> None:
    """Every request text is reproduced by ``encode_request`` and parsed by the panel side."""
    for message in messages:
        text = message["text"].encode()
        assert request_from_text(message["text"]) == text
        request = parse_request(text)
        parsed = json.loads(text)
        assert request.seq == parsed["seq"]
        assert request.session_id == parsed["session_id"]
        if request.domain == "authenticate":
            assert request.command is None
            assert request.args == parsed["authenticate"]
        else:
            assert {request.domain: {request.command: request.args}} == {
                k: v for k, v in parsed.items() if k not in ("seq", "session_id")
            }
        if "expected_reply_route" in message:
            assert [request.domain, request.command] == message["expected_reply_route"]


def encode_spec(seq: int, session_id: int | None, spec: requests.RequestSpec) -> bytes:
    return encode_request(seq, session_id, spec.domain, spec.command, spec.args)


@check("request_messages_kernel_builders")
def check_kernel_builders(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    messages = expected["messages"]
    _check_request_texts(messages)
    session_id = inputs["session_id"]
    # Our builder for each reference route; None where e27bridge has no builder because it
    # does not send that request (control.authenticate: we use the top-level form; rule and
    # log.get_list with a date: not used by the bridge).
    ours: dict[str, requests.RequestSpec | None] = {
        "area.get_table_info": requests.table_info("area"),
        "zone.get_configured": requests.get_configured("zone", 1),
        "zone.get_all_zones_status": requests.all_zones_status(),
        "output.get_all_outputs_status": requests.all_outputs_status(),
        "zone.get_defs": requests.zone_defs(1),
        "area.get_status": requests.get_status("area", 1),
        "zone.set_status": requests.bypass_zone(7, True, pin=1234),
        "output.set_status": requests.set_output(3, True),
        "light.set_status": requests.set_light(2, 75),
        "lock.set_status": requests.set_lock(1, True),
        "barrier.set_status": requests.operate_barrier(1, "open"),
        "tstat.set_status": requests.set_thermostat(
            1, mode="HEAT", heat_setpoint=models.encode_setpoint(68.4)
        ),
        "system.r_u_alive": requests.keepalive(),
        "control.authenticate": None,
        "rule.get_rules": None,
        "log.get_list": None,
        "authenticate (top level, async_execute path)": requests.authenticate(1234),
    }
    assert [m["route"] for m in messages] == list(ours)
    for message in messages:
        spec = ours[message["route"]]
        if spec is None:
            continue
        seq = json.loads(message["text"])["seq"]
        text = encode_spec(seq, session_id, spec)
        if message["route"] in ("zone.get_all_zones_status", "output.get_all_outputs_status"):
            # INTENTIONAL DIFFERENCE: this reference path sends ``true``; we send ``{}`` like
            # its other path (request_messages_async_execute_generators). Both are accepted.
            assert message["text"].replace(":true}", ":{}}") == text.decode()
            continue
        assert text.decode() == message["text"]
    assert requests.operate_barrier(1, "open").at_most_once
    assert not requests.set_output(3, True).is_read
    assert requests.table_info("area").is_read


@check("request_messages_async_execute_generators")
def check_async_generators(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    messages = expected["messages"]
    _check_request_texts(messages)
    session_id = inputs["session_id"]
    ours: list[requests.RequestSpec | None] = [
        requests.arm_area(1, "ARMED_AWAY", 1234),
        requests.arm_area(1, "DISARMED", 1234),
        requests.set_chime(1, True),
        requests.all_zones_status(),
        requests.all_outputs_status(1),
        None,  # zone.get_def_flags: not used by the bridge
        requests.system_troubles(),
        None,  # network.get_ssid: installer level, not used by the bridge
        None,  # bus_io_dev.get_trouble: not used by the bridge
        requests.get_attribs("user", 1),
    ]
    assert len(ours) == len(messages)
    for message, spec in zip(messages, ours, strict=True):
        if spec is None:
            continue
        assert [spec.domain, spec.command] == message["expected_reply_route"]
        seq = json.loads(message["text"])["seq"]
        assert encode_spec(seq, session_id, spec).decode() == message["text"]
    # Arming is a write and is never retried; the engine reads ``is_read``.
    assert not requests.arm_area(1, "DISARMED", 1234).is_read


# --------------------------------------------------------------------------- status, paging


@check("zone_bulk_status_char_table")
def check_zone_chars(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    table = expected["table"]
    assert "".join(table) == inputs["chars"]
    for char, meaning in table.items():
        for variant in {char, char.lower()}:
            decoded = models.decode_zone_char(variant)
            assert (decoded is not None) == meaning["accepted"]
            assert decoded is not None
            assert decoded.code == char
            assert (decoded.enabled, decoded.trouble, decoded.violated, decoded.bypassed) == (
                meaning["enabled"],
                meaning["trouble"],
                meaning["violated"],
                meaning["bypassed"],
            )
    assert models.decode_zone_char("G") is None
    assert models.decode_zone_bulk("0123456789abcdef") == {
        index: models.decode_zone_char(char) for index, char in enumerate(table, start=1)
    }


@check("zone_bulk_status_string")
def check_zone_bulk(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    decoded = models.decode_zone_bulk(inputs["payload"]["status"])
    assert sorted(decoded) == expected["updated_ids"]
    for zone_id, meaning in expected["zones"].items():
        zone = decoded[int(zone_id)]
        assert (zone.code, zone.enabled, zone.violated, zone.bypassed) == (
            meaning["status_code"],
            meaning["enabled"],
            meaning["violated"],
            meaning["bypassed"],
        )
    with pytest.raises(MalformedMessage):
        models.decode_zone_bulk(None)


@check("output_bulk_status_char_table")
def check_output_chars(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    table = expected["table"]
    assert "".join(table) == inputs["chars"]
    for char, meaning in table.items():
        decoded = models.decode_output_bulk(char)
        if not meaning["accepted"]:
            assert decoded == {}
            continue
        assert decoded == {1: meaning["on"]}
        assert ("ON" if decoded[1] else "OFF") == meaning["status"]
    # Concatenated blocks keep their order; the unaccepted character keeps its position.
    assert models.decode_output_bulk(inputs["chars"]) == {1: False, 2: True}
    assert models.decode_output_bulk("10" + "01") == {1: True, 2: False, 3: False, 4: True}


@check("tstat_value_scaling")
def check_tstat_scaling(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    for (raw, prec, index), result in zip(inputs["decode_cases"], expected["decoded"], strict=True):
        assert (result["raw"], result["prec"], result["index"]) == (raw, prec, index)
        value = models.scale_value(raw, prec, index)
        assert value == pytest.approx(result["decoded"])
        assert isinstance(value, int) == isinstance(result["decoded"], int)
    for prec_byte in inputs["prec_bytes"]:
        places = models.precision_places(prec_byte)
        assert places == expected["precision_places"][str(prec_byte)]
    for setpoint in inputs["setpoints"]:
        key = str(setpoint)
        if key in expected["encoded_setpoints"]:
            assert models.encode_setpoint(setpoint) == expected["encoded_setpoints"][key]
        else:
            assert expected[f"setpoint_{setpoint}"] == "ValueError"
            with pytest.raises(ValueError):
                models.encode_setpoint(setpoint)
    # Through the status parser: the prec byte of each field scales that field.
    status = models.parse_tstat_status(
        {"tstat_id": 1, "temperature": 685, "heat_setpoint": 68, "prec": [32, 0, 0, 0]}
    )
    assert (status.temperature, status.heat_setpoint) == (68.5, 68)


@check("area_ready_status")
def check_area_ready(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    for value in inputs["values"]:
        assert models.ready_from_status(value) is expected["ready"][value]
        status = models.parse_area_status({"area_id": 1, "ready_status": value})
        assert status.ready is expected["ready"][value]


@check("paged_configured_merge")
def check_paged_merge(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    zone_blocks = inputs["zone_blocks"]
    zones = paging.PagedTransfer("zone")
    for block_id, ids in enumerate(zone_blocks, start=1):
        assert zones.next_block() == block_id
        zones.add({"block_id": block_id, "block_count": len(zone_blocks), "zones": ids})
    assert zones.done
    assert zones.next_block() is None
    assert list(zones.ids()) == expected["zone_merged"]["zones"]
    assert zones.block_count == expected["zone_merged"]["block_count"]
    # Areas: the reference's block-relative heuristic (informative; ours follows it here).
    area_blocks = inputs["area_blocks"]
    areas = paging.PagedTransfer("area", table_elements=inputs["area_table_elements"])
    for block_id, ids in enumerate(area_blocks, start=1):
        areas.add({"block_id": block_id, "block_count": len(area_blocks), "areas": ids})
    assert areas.done
    assert list(areas.ids()) == expected["area_merged"]["areas"]
    assert areas.block_count == expected["area_merged"]["block_count"]
    # Numeric-string block fields are accepted (§17); a changed block_count is refused.
    strings = paging.PagedTransfer("zone")
    strings.add({"block_id": "1", "block_count": "2", "zones": [1]})
    with pytest.raises(MalformedMessage):
        strings.add({"block_id": 2, "block_count": 3, "zones": [2]})


# --------------------------------------------------------------------------- reference data


# Names the reference gives differently from our enum (ours is a valid identifier).
_ERROR_NAME_ALIASES = {"2WSMK_NOT_ALLOWED": "TWO_WAY_SMOKE_NOT_ALLOWED"}


@check("panel_error_codes")
def check_panel_error_codes(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    codes = expected["codes"]
    for reference_name, value in codes.items():
        name = reference_name.removeprefix("ELKERR_")
        assert PanelErrorCode[_ERROR_NAME_ALIASES.get(name, name)] == value
    assert {int(code) for code in PanelErrorCode} == set(codes.values())


@check("protocol_constants")
def check_protocol_constants(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    assert IV.hex() == expected["API_LINK_IV_hex"]
    assert expected["E27_MAGIC"] == envelope.MAGIC
    assert expected["PROTOCOL_ENCRYPTED_FLAG"] == envelope.ENCRYPTED_FLAG
    assert Frame(0x80 | 0xFF, b"").padding == expected["PROTOCOL_PADDING_MASK"]
    assert expected["STARTCHAR"] == framing.START
    assert expected["deframe_max_length"] == framing.MAX_LENGTH
    assert expected["deframe_min_length"] == framing.MIN_LENGTH
    assert expected["discovery_udp_port"] == discovery.DISCOVERY_PORT
    assert discovery.PROBE.decode() == expected["discovery_probe"]
    assert (
        discovery.API_PORT == expected["default_tcp_port"] == expected["plain_scheme_default_port"]
    )
    assert expected["discovery_nonce_buffer_max"] == cleartext.MAX_BUFFER
    # The deframer enforces the limits it advertises.
    assert deframe([b"\x7e\x80\x04\x00"])[1][0].kind is FramingErrorKind.BAD_LENGTH
    assert deframe([b"\x7e\x80\x01\x10"])[1][0].kind is FramingErrorKind.BAD_LENGTH
    # Not protocol-core values: the TLS port (e27bridge speaks plain TCP only) and the
    # reference's session/kernel timing policy, which e27bridge's engine chooses itself
    # (protocol §16). Listed so that a new constant in the file cannot go unnoticed.
    assert set(expected) - {
        "API_LINK_IV_hex",
        "E27_MAGIC",
        "PROTOCOL_ENCRYPTED_FLAG",
        "PROTOCOL_PADDING_MASK",
        "STARTCHAR",
        "deframe_max_length",
        "deframe_min_length",
        "discovery_udp_port",
        "discovery_probe",
        "default_tcp_port",
        "plain_scheme_default_port",
        "discovery_nonce_buffer_max",
    } == {"secure_scheme_default_port", "session_defaults", "kernel_defaults"}


# Reference command keys whose wire form differs from "<domain>_<command>".
_PERMISSION_KEY_ALIASES = {
    "area_num_not_rdy_zones": ("area", "get_num_not_rdy_zones"),  # the command's wire name
    "link_function": ("net_dev", "link"),
    "logout_function": ("net_dev", "logout"),
}
_PERMISSION_DOMAIN_ALIASES = {"bus_ios": "bus_io_dev", "network_param": "network"}


@check("permission_levels")
def check_permission_levels(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    # e27bridge applies the permission model in its panel simulator (protocol §10.2, §19).
    levels = expected["levels"]
    assert (levels["PLT_ENCRYPTION_KEY"], levels["PLT_ANY_USER"]) == (1, LEVEL_ANY_USER)
    assert (levels["PLT_MASTER_USER"], levels["PLT_INSTALLER_USER"]) == (
        LEVEL_MASTER,
        LEVEL_INSTALLER,
    )
    for base in ("ENCRYPTION_KEY", "ANY_USER", "MASTER_USER", "INSTALLER_USER"):
        assert levels[f"PLT_{base}_DISARMED"] == levels[f"PLT_{base}"] + 4
    domains = sorted({*PERMISSIONS, *_PERMISSION_DOMAIN_ALIASES}, key=len, reverse=True)
    covered: set[tuple[str, str]] = set()
    for key, level_name in expected["by_command"].items():
        if key in _PERMISSION_KEY_ALIASES:
            domain, command = _PERMISSION_KEY_ALIASES[key]
        else:
            prefix = next(d for d in domains if key.startswith(f"{d}_"))
            domain = _PERMISSION_DOMAIN_ALIASES.get(prefix, prefix)
            command = key.removeprefix(f"{prefix}_")
        covered.add((domain, command))
        required = PERMISSIONS[domain][command]
        if key == "control_authenticate":
            # INTENTIONAL DIFFERENCE: the reference lists ANY_USER, but authenticating is how a
            # level-1 session obtains a user level, so the simulator accepts it at level 1.
            assert (levels[level_name], required) == (LEVEL_ANY_USER, 1)
            continue
        assert required == levels[level_name], key
    extra = {(d, c) for d, commands in PERMISSIONS.items() for c in commands} - covered
    assert extra == {("area", "get_trouble")}  # reply-name alias of get_troubles (§13.2)


# --------------------------------------------------------------------------- bootstrap


def _bridge_spec(domain: str, command: str | None, args: dict[str, Any]) -> requests.RequestSpec:
    """The e27bridge builder for one request of the transcript."""
    if domain == "authenticate":
        return requests.authenticate(args["pin"])
    if command == "get_table_info":
        return requests.table_info(domain)
    if command == "get_configured":
        return requests.get_configured(domain, args["block_id"])
    if command == "get_defs":
        return requests.zone_defs(args["block_id"])
    if command == "get_attribs":
        return requests.get_attribs(domain, args[f"{domain}_id"])
    if command == "get_status":
        return requests.get_status(domain, args[f"{domain}_id"])
    if (domain, command) == ("control", "get_version_info"):
        return requests.version_info()
    if (domain, command) == ("area", "set_arm_state"):
        return requests.arm_area(args["area_id"], args["arm_state"], args["pin"])
    raise AssertionError(f"no builder for {domain}.{command}")


@check("reference_client_bootstrap_transcript")
def check_bootstrap_transcript(inputs: dict[str, Any], expected: dict[str, Any]) -> None:
    transcript = expected["bootstrap_transcript"] + expected["after_ready_transcript"]
    banner, hello_request, hello_reply = transcript[:3]
    framed = transcript[3:]
    # Cleartext phase, client side.
    (nonce,) = [
        n for n in map(banner_nonce, JsonObjectReader().feed(banner["cleartext"].encode())) if n
    ]
    assert len(nonce) == 40
    identity = ClientIdentity(sn="000000001", mn="222", fwver="0.1", hwver="0.1", osver="0.1")
    assert build_hello_request(identity).decode() == hello_request["cleartext"]
    reply = find_hello_reply(JsonObjectReader().feed(hello_reply["cleartext"].encode()))
    assert reply is not None
    link_keys = LinkKeys(enc=inputs["link_key_hex"], hmac="00" * 20)
    accepted = classify_hello_reply(reply, link_keys)
    assert isinstance(accepted, HelloAccepted)
    assert accepted.session_id == inputs["hello_session_id"]
    assert accepted.session_key.hex() == inputs["session_key_hex"]
    key = accepted.session_key

    # Framed phase: every client request is reproduced byte for byte, carries the session
    # id in force, uses envelope seqs 1, 2, 3, ... and is ended exactly once by its reply.
    counter = EnvelopeCounter()
    correlator = Correlator()
    session_id = accepted.session_id
    panel_deframer = Deframer()
    client_deframer = Deframer()
    client_routes: list[str] = []
    ended_seqs: list[int] = []
    broadcasts: list[Inbound] = []
    now = 0.0
    for entry in framed:
        now += 0.01
        text = entry["json"].encode()
        if entry["dir"] == "client->panel":
            message = json.loads(text)
            assert message["session_id"] == session_id
            assert request_from_text(entry["json"]) == text
            seq = counter.next()
            assert seq == entry["envelope_seq"]
            env = Envelope(seq, entry["src"], entry["dest"], entry["head"], text)
            (frame,) = panel_deframer.feed(encode_envelope_frame(key, env))
            assert isinstance(frame, Frame)
            request = parse_request(decode_envelope(key, frame).payload)
            # Our request builders produce exactly what the reference client sent.
            spec = _bridge_spec(request.domain, request.command, request.params)
            assert encode_spec(request.seq, session_id, spec) == text
            client_routes.append(
                f"{request.domain}.{request.command}" if request.command else request.domain
            )
            correlator.sent(request.seq, now, timeout=5.0)
            continue
        panel_env = Envelope(entry["envelope_seq"], 0, 1, 0, text)
        (frame,) = client_deframer.feed(encode_envelope_frame(key, panel_env))
        assert isinstance(frame, Frame)
        inbound = decode_message(decode_envelope(key, frame).payload)
        if inbound.session_id is not None:
            session_id = inbound.session_id  # adopt (protocol §8.4)
        ended = correlator.received(inbound, now)
        if inbound.kind is MessageKind.BROADCAST:
            assert ended is None
            broadcasts.append(inbound)
            continue
        assert ended is not None
        assert ended.reason is EndReason.REPLY
        assert ended.seq == inbound.seq
        ended_seqs.append(ended.seq)
    assert not correlator.busy
    assert (
        client_routes[: len(expected["bootstrap_request_order"])]
        == expected["bootstrap_request_order"]
    )
    assert (
        list(range(1, len(expected["bootstrap_envelope_seqs"]) + 1))
        == expected["bootstrap_envelope_seqs"]
    )
    assert client_routes[-3:] == ["authenticate", "area.set_arm_state", "area.get_status"]
    assert session_id == inputs["authenticate_reply_session_id"]
    assert expected["authenticate_ok"] is True
    # The user.get_attribs reply without authentication is a typed 11008.
    (user_reply,) = [
        e for e in framed if '"user":{"get_attribs"' in e["json"] and e["dir"] == "panel->client"
    ]
    with pytest.raises(PanelRejected, match="11008") as info:
        decode_message(user_reply["json"].encode()).raise_for_error()
    assert getattr(info.value, "code", None) == PanelErrorCode.NOAUTH
    # The final seq-0 area status is a broadcast that would set the area to armed away.
    (broadcast,) = broadcasts
    assert (broadcast.domain, broadcast.command) == ("area", "get_status")
    assert broadcast.body["arm_state"].lower() == expected["area1_arm_mode_after_broadcast"]
    assert len(ended_seqs) == len(set(ended_seqs))
