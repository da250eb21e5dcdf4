"""Cross-checks against the published reference library ``elke27`` 0.3.15 (``elke27_lib``).

``elke27_lib`` is a TEST-ONLY oracle here: what e27bridge encodes, it must decode, and what it
encodes, e27bridge must decode, for frames, schema-0 envelopes, HELLO and API_LINK. The
socket-level exchanges run the reference client over ``socket.socketpair()`` (no network)
against e27bridge's panel-side functions.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from elke27_lib import errors as ref_errors
from elke27_lib import framing as ref_framing
from elke27_lib import presentation as ref_presentation
from elke27_lib.encryption import decrypt_hello_field as ref_decrypt_hello_field
from elke27_lib.hello import build_hello_request as ref_build_hello_request
from elke27_lib.hello import perform_hello as ref_perform_hello
from elke27_lib.linking import E27Identity
from elke27_lib.linking import build_api_link_request as ref_build_api_link_request
from elke27_lib.linking import derive_pass_tempkey_with_cnonce as ref_derive
from elke27_lib.linking import parse_api_link_response_json as ref_parse_link_json
from elke27_lib.linking import perform_api_link as ref_perform_api_link
from elke27_lib.linking import wait_for_discovery_nonce as ref_wait_for_nonce
from elke27_lib.util import calculate_crc16_checksum as ref_crc16
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from e27bridge.protocol.cleartext import JsonObjectReader
from e27bridge.protocol.crc import crc16
from e27bridge.protocol.crypto import decrypt_hello_field, encrypt_hello_field, swapped_key
from e27bridge.protocol.discovery import build_banner
from e27bridge.protocol.envelope import (
    Envelope,
    decode_envelope,
    encode_envelope,
    encode_envelope_frame,
)
from e27bridge.protocol.errors import EnvelopeError
from e27bridge.protocol.framing import START, Deframer, Frame, encode_frame
from e27bridge.protocol.hello import (
    build_hello_accept,
    build_hello_error,
    build_hello_request,
    parse_hello_request,
)
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import (
    LinkProof,
    LinkReplyReader,
    build_link_reply,
    build_link_request,
    derive_link_proof,
    parse_link_request,
)


def props(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


protocol_bytes = st.integers(min_value=1, max_value=255).filter(lambda b: b != START)
keys = st.binary(min_size=16, max_size=16)
hex_keys = keys.map(bytes.hex)
cuts = st.lists(st.integers(min_value=0, max_value=1_500), max_size=10)
ascii_words = st.text(alphabet="0123456789ABCDEFabcdefXYZ.-_ ", min_size=1, max_size=16).filter(
    str.strip
)
unicode_words = st.text(st.characters(codec="utf-8"), min_size=1, max_size=16).filter(str.strip)


def _split(data: bytes, points: list[int]) -> list[bytes]:
    pieces, previous = [], 0
    for point in [*sorted({min(p, len(data)) for p in points}), len(data)]:
        pieces.append(data[previous:point])
        previous = point
    return pieces


def _frame_no_crc(protocol: int, data: bytes) -> bytes:
    return bytes([protocol]) + (len(data) + 5).to_bytes(2, "little") + data


def _reference_bug_free(protocol: int, data: bytes) -> bool:
    """The reference drops frames whose length low byte equals the protocol byte (§4.4)."""
    return (len(data) + 5) & 0xFF != protocol


# --------------------------------------------------------------------------- CRC and frames


@props(500)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=200))
def test_crc_agrees_including_chaining(data: bytes, split: int) -> None:
    assert crc16(data) == ref_crc16(0, data, 0, len(data))
    head = ref_crc16(0, data[:split], 0, len(data[:split]))
    assert crc16(data[split:], crc16(data[:split])) == ref_crc16(
        head, data[split:], 0, len(data[split:])
    )


@props(400)
@given(st.lists(st.tuples(protocol_bytes, st.binary(max_size=300)), min_size=1, max_size=5), cuts)
def test_our_frames_are_decoded_by_the_reference(
    frames: list[tuple[int, bytes]], points: list[int]
) -> None:
    assume(all(_reference_bug_free(p, d) for p, d in frames))
    wire = b""
    for protocol, data in frames:
        ours = encode_frame(protocol, data)
        assert ours == ref_framing.frame_build(protocol_byte=protocol, data_frame=data)
        wire += ours
    state = ref_framing.DeframeState()
    results = [r for chunk in _split(wire, points) for r in ref_framing.deframe_feed(state, chunk)]
    assert [r.frame_no_crc for r in results if r.ok] == [_frame_no_crc(p, d) for p, d in frames]


@props(400)
@given(
    st.lists(st.tuples(protocol_bytes, st.binary(max_size=300)), min_size=1, max_size=5),
    cuts,
    st.binary(max_size=20).map(lambda b: b.replace(b"\x7e", b"")),
)
def test_reference_frames_are_decoded_by_us(
    frames: list[tuple[int, bytes]], points: list[int], noise: bytes
) -> None:
    wire = noise + b"".join(
        ref_framing.frame_build(protocol_byte=p, data_frame=d) + noise for p, d in frames
    )
    deframer = Deframer()
    got = [e for chunk in _split(wire, points) for e in deframer.feed(chunk)]
    assert [e for e in got if isinstance(e, Frame)] == [Frame(p, d) for p, d in frames]


def test_the_reference_bug_is_real_and_we_do_not_share_it() -> None:
    """Protocol 0x85 with L = 0x0085: the reference loses the frame, we deliver it."""
    data = bytes(128)
    wire = encode_frame(0x85, data)
    state = ref_framing.DeframeState()
    assert not [r for r in ref_framing.deframe_feed(state, wire) if r.ok]
    assert Deframer().feed(wire) == [Frame(0x85, data)]


# --------------------------------------------------------------------------- envelopes


envelope_fields = st.builds(
    Envelope,
    seq=st.integers(min_value=0, max_value=2**32 - 1),
    src=st.integers(min_value=0, max_value=255),
    dest=st.integers(min_value=0, max_value=255),
    head=st.integers(min_value=0, max_value=255),
    payload=st.binary(max_size=300),
)


@props(400)
@given(keys, envelope_fields)
def test_our_envelopes_are_decrypted_by_the_reference(key: bytes, env: Envelope) -> None:
    protocol, ciphertext = encode_envelope(key, env)
    decrypted = ref_presentation.decrypt_schema0_envelope(
        protocol_byte=protocol, ciphertext=ciphertext, session_key=key
    )
    assert (decrypted.envelope_seq, decrypted.src, decrypted.dest, decrypted.head) == (
        env.seq,
        env.src,
        env.dest,
        env.head,
    )
    assert decrypted.payload == env.payload


@props(400)
@given(keys, envelope_fields)
def test_reference_envelopes_are_decrypted_by_us(key: bytes, env: Envelope) -> None:
    protocol, ciphertext = ref_presentation.encrypt_schema0_envelope(
        payload=env.payload,
        session_key=key,
        src=env.src,
        dest=env.dest,
        head=env.head,
        envelope_seq=env.seq,
    )
    assert decode_envelope(key, Frame(protocol, ciphertext)) == env
    assert (protocol, ciphertext) == encode_envelope(key, env)


@props(200)
@given(keys, st.lists(envelope_fields, min_size=1, max_size=4), cuts)
def test_full_stack_our_wire_through_the_reference(
    key: bytes, envelopes: list[Envelope], points: list[int]
) -> None:
    assume(all(_reference_bug_free(*encode_envelope(key, env)) for env in envelopes))
    wires = [encode_envelope_frame(key, env) for env in envelopes]
    state = ref_framing.DeframeState()
    results = [
        r
        for chunk in _split(b"".join(wires), points)
        for r in ref_framing.deframe_feed(state, chunk)
    ]
    frames = [r.frame_no_crc for r in results if r.ok and r.frame_no_crc is not None]
    decrypted = [
        ref_presentation.decrypt_schema0_envelope(
            protocol_byte=f[0], ciphertext=f[3:], session_key=key
        ).payload
        for f in frames
    ]
    assert decrypted == [env.payload for env in envelopes]


@props(200)
@given(keys, keys, envelope_fields)
def test_wrong_key_is_refused_by_both(key: bytes, other: bytes, env: Envelope) -> None:
    assume(key != other)
    protocol, ciphertext = encode_envelope(key, env)
    ours_ok = theirs_ok = True
    try:
        decode_envelope(other, Frame(protocol, ciphertext))
    except EnvelopeError:
        ours_ok = False
    try:
        ref_presentation.decrypt_schema0_envelope(
            protocol_byte=protocol, ciphertext=ciphertext, session_key=other
        )
    except ref_errors.E27ProtocolError:
        theirs_ok = False
    # Both check the same MAGIC, so they agree even in the 1-in-65536 false accept.
    assert ours_ok == theirs_ok


# --------------------------------------------------------------------------- HELLO


@props(300)
@given(hex_keys, keys, st.binary(min_size=32, max_size=32))
def test_hello_fields_agree_both_ways(link_hex: str, session_key: bytes, hmac: bytes) -> None:
    sk = encrypt_hello_field(link_hex, session_key)
    shm = encrypt_hello_field(link_hex, hmac)
    assert ref_decrypt_hello_field(linkkey_hex=link_hex, field_hex=sk) == session_key
    assert ref_decrypt_hello_field(linkkey_hex=link_hex, field_hex=shm) == hmac
    assert (
        ref_presentation.decrypt_key_field_with_linkkey(linkkey_hex=link_hex, ciphertext_hex=sk)
        == session_key
    )
    # Any ciphertext decrypts to the same bytes with both implementations.
    assert decrypt_hello_field(link_hex, sk[::-1]) == ref_decrypt_hello_field(
        linkkey_hex=link_hex, field_hex=sk[::-1]
    )


def _identity(sn: str, mn: str, version: str) -> tuple[ClientIdentity, E27Identity]:
    ours = ClientIdentity(sn=sn, mn=mn, fwver=version, hwver=version, osver=version)
    theirs = E27Identity(mn=mn, sn=sn, fwver=version, hwver=version, osver=version)
    return ours, theirs


@props(300)
@given(ascii_words, ascii_words, ascii_words, unicode_words)
def test_hello_request_texts(sn: str, mn: str, version: str, unicode_sn: str) -> None:
    ours, theirs = _identity(sn, mn, version)
    text = ref_build_hello_request(seq=110, client_identity=theirs)
    assert build_hello_request(ours).decode() == text
    assert parse_hello_request(json.loads(text)) == (110, ours)
    # Non-ASCII identities: the texts differ only in escaping; each side parses the other's.
    u_ours, u_theirs = _identity(unicode_sn, mn, version)
    assert parse_hello_request(
        json.loads(ref_build_hello_request(seq=7, client_identity=u_theirs))
    ) == (7, u_ours)


class _Peer:
    """Runs one panel-side exchange in a thread on one end of a socketpair."""

    def __init__(self, serve: Callable[[socket.socket], Any]) -> None:
        self.client, self._panel = socket.socketpair()
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(serve,), daemon=True)
        self._thread.start()

    def _run(self, serve: Callable[[socket.socket], Any]) -> None:
        try:
            self.result = serve(self._panel)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> Any:
        self._thread.join(timeout=10)
        self.client.close()
        self._panel.close()
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.result


NONCE = "77274bf43c1400329c8362bacec79fe93323722c"


def _read_objects_until(sock: socket.socket, key: str) -> dict[str, Any]:
    reader = JsonObjectReader()
    while True:
        data = sock.recv(4096)
        assert data, "client closed"
        for obj in reader.feed(data):
            if key in obj:
                return obj


def _hello_panel(reply: Callable[[int, ClientIdentity], bytes]) -> Callable[[socket.socket], Any]:
    def serve(sock: socket.socket) -> ClientIdentity:
        sock.sendall(build_banner(NONCE, "2025/12/26,18:44:00"))
        parsed = parse_hello_request(_read_objects_until(sock, "hello"))
        assert parsed is not None
        seq, identity = parsed
        sock.sendall(reply(seq, identity))
        return identity

    return serve


@props(15)
@given(hex_keys, keys, st.binary(min_size=32, max_size=32), st.integers(1, 2**32 - 1), ascii_words)
def test_reference_client_completes_hello_with_our_panel(
    link_hex: str, session_key: bytes, hmac: bytes, session_id: int, sn: str
) -> None:
    link = LinkKeys(enc=link_hex, hmac="00" * 20)
    ours, theirs = _identity(sn, "0222", "1.0")
    peer = _Peer(
        _hello_panel(
            lambda seq, _identity: build_hello_accept(
                seq=seq,
                link_keys=link,
                session_id=session_id,
                session_key=session_key,
                session_hmac=hmac,
            )
        )
    )
    keys_ = ref_perform_hello(sock=peer.client, client_identity=theirs, linkkey_hex=link_hex)
    assert peer.join() == ours
    assert keys_.session_id == session_id
    assert keys_.session_key_hex == session_key.hex()
    assert keys_.hmac_key_hex == hmac.hex()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (build_hello_error(11006, "invalid_id"), ref_errors.E27HelloLinkRequired),
        (build_hello_error(11008), ref_errors.E27HelloLinkRequired),
        (build_hello_error(11036, "busy"), ref_errors.E27HelloRejected),
        (b'{"hello":{"seq":110,"error_code":0}}', ref_errors.E27HelloNoSession),
    ],
)
def test_our_hello_refusals_are_typed_the_same_by_the_reference(
    reply: bytes, error: type[Exception]
) -> None:
    peer = _Peer(_hello_panel(lambda _seq, _identity: reply))
    _, theirs = _identity("001122334455", "0222", "1.0")
    with pytest.raises(error):
        ref_perform_hello(
            sock=peer.client, client_identity=theirs, linkkey_hex="00" * 16, timeout_s=5.0
        )
    peer.join()


# --------------------------------------------------------------------------- API_LINK


link_inputs = st.fixed_dictionaries(
    {
        "access_code": st.text(alphabet="0123456789", min_size=4, max_size=8),
        "passphrase": unicode_words,
        "sn": ascii_words,
        "mn": ascii_words,
        "nonce": st.binary(min_size=20, max_size=20).map(bytes.hex),
        "cnonce": st.binary(min_size=20, max_size=20).map(bytes.hex),
    }
)


@props(300)
@given(link_inputs)
def test_link_derivation_and_request_agree(inputs: dict[str, str]) -> None:
    ours, theirs = _identity(inputs["sn"], inputs["mn"], "1.0")
    proof = derive_link_proof(
        access_code=inputs["access_code"],
        passphrase=inputs["passphrase"],
        identity=ours,
        nonce=inputs["nonce"],
        cnonce=inputs["cnonce"],
    )
    password, tempkey = ref_derive(
        access_code=inputs["access_code"],
        passphrase=inputs["passphrase"],
        nonce=inputs["nonce"],
        cnonce=inputs["cnonce"],
        mn=inputs["mn"],
        sn=inputs["sn"],
    )
    assert (proof.password, proof.tempkey_hex) == (password, tempkey)
    text = ref_build_api_link_request(
        seq=110, client_identity=theirs, pass_hex8=password, cnonce_hex=inputs["cnonce"]
    )
    assert build_link_request(ours, proof, inputs["cnonce"]).decode() == text
    request = parse_link_request(json.loads(text))
    assert request is not None
    assert (request.identity, request.password, request.cnonce) == (
        ours,
        password,
        inputs["cnonce"],
    )


@props(300)
@given(hex_keys, hex_keys, st.binary(min_size=20, max_size=20).map(bytes.hex), st.integers(0, 255))
def test_link_replies_agree_both_ways(tempkey: str, enc: str, hmac: str, head: int) -> None:
    body = {"enc": enc, "hmac": hmac, "error_code": 0}
    # Ours -> reference.
    (frame,) = Deframer().feed(build_link_reply(tempkey, body, head=head))
    assert isinstance(frame, Frame)
    ack, payload = ref_presentation.decrypt_api_link_response(
        protocol_byte=frame.protocol, ciphertext=frame.data, tempkey_hex=tempkey
    )
    assert ack == head
    assert ref_parse_link_json(json.loads(payload)) == (enc, hmac)
    # Reference -> ours.
    protocol, ciphertext = ref_presentation.encrypt_schema0_envelope(
        payload=payload, session_key=swapped_key(tempkey), src=0, dest=1, head=head, envelope_seq=1
    )
    reader = LinkReplyReader(LinkProof(password="00000000", tempkey_hex=tempkey))
    assert reader.feed(encode_frame(protocol, ciphertext)) == LinkKeys(enc=enc, hmac=hmac)
    assert reader.ack == head


def _link_panel(
    access_code: str, passphrase: str, body: dict[str, Any]
) -> Callable[[socket.socket], Any]:
    def serve(sock: socket.socket) -> bool:
        sock.sendall(build_banner(NONCE, "2025/12/26,18:44:00"))
        request = parse_link_request(_read_objects_until(sock, "api_link"))
        assert request is not None
        proof = derive_link_proof(
            access_code=access_code,
            passphrase=passphrase,
            identity=request.identity,
            nonce=NONCE,
            cnonce=request.cnonce,
        )
        if proof.password != request.password:
            return False  # a real panel stays silent on wrong credentials
        sock.sendall(b'{"LOCAL":"late"}' + build_link_reply(proof.tempkey_hex, body))
        return True

    return serve


@props(10)
@given(link_inputs, hex_keys, st.binary(min_size=20, max_size=20).map(bytes.hex))
def test_reference_client_links_with_our_panel(inputs: dict[str, str], enc: str, hmac: str) -> None:
    _, theirs = _identity(inputs["sn"], inputs["mn"], "1.0")
    peer = _Peer(
        _link_panel(inputs["access_code"], inputs["passphrase"], {"enc": enc, "hmac": hmac})
    )
    nonce = ref_wait_for_nonce(peer.client, timeout_s=5.0)
    assert nonce == NONCE
    result = ref_perform_api_link(
        sock=peer.client,
        client_identity=theirs,
        access_code=inputs["access_code"],
        passphrase=inputs["passphrase"],
        mn_for_hash=inputs["mn"],
        discovery_nonce=nonce.encode(),
        timeout_s=5.0,
    )
    assert peer.join() is True
    assert (result.linkkey_hex, result.linkhmac_hex) == (enc, hmac)


def test_reference_client_sees_our_slots_full_refusal() -> None:
    body = {"error_code": 11005, "error_message": "Not enough space"}
    peer = _Peer(_link_panel("1234", "secret", body))
    _, theirs = _identity("001122334455", "0222", "1.0")
    nonce = ref_wait_for_nonce(peer.client, timeout_s=5.0)
    with pytest.raises(ref_errors.E27LinkSlotsFull):
        ref_perform_api_link(
            sock=peer.client,
            client_identity=theirs,
            access_code="1234",
            passphrase="secret",
            mn_for_hash="0222",
            discovery_nonce=nonce.encode(),
            timeout_s=5.0,
        )
    assert peer.join() is True
