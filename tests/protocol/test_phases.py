"""The session phase machine: both roles talk to each other in memory, every legal path and
the named error for illegal moves (issue 10, item 3). Real AES, no sockets."""

from __future__ import annotations

import json

import pytest

from e27bridge.protocol.cleartext import dumps
from e27bridge.protocol.errors import E27Error, EnvelopeError
from e27bridge.protocol.framing import FramingError
from e27bridge.protocol.hello import HelloAccepted, HelloLinkRequired, HelloNoSession
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import LinkSlotsFull, derive_link_proof
from e27bridge.protocol.phases import (
    BannerReceived,
    Connection,
    Dropped,
    FramingProblem,
    HelloReplied,
    HelloRequested,
    IllegalMove,
    LinkReplied,
    LinkRequested,
    Overflowed,
    Phase,
    Received,
    Role,
    Unrecognised,
)

IDENTITY = ClientIdentity(sn="0A1B2C3D4E5F")
KEYS = LinkKeys(enc="11" * 16, hmac="22" * 20)
NONCE = "ab" * 20
SESSION_KEY = bytes(range(16))


def pair() -> tuple[Connection, Connection]:
    client, panel = Connection(Role.CLIENT), Connection(Role.PANEL)
    assert (client.phase, panel.phase) == (Phase.CLEARTEXT, Phase.BANNER)
    assert client.receive(panel.send_banner(NONCE, "2026/12/01,04:00:00")) == [
        BannerReceived(NONCE),
        Unrecognised({"LOCAL": "2026/12/01,04:00:00"}),
    ]
    return client, panel


def accept(panel: Connection, seq: int, session_key: bytes = SESSION_KEY) -> bytes:
    return panel.accept_hello(
        seq=seq, link_keys=KEYS, session_id=7, session_key=session_key, session_hmac=bytes(32)
    )


def framed(session_key: bytes = SESSION_KEY) -> tuple[Connection, Connection]:
    client, panel = pair()
    (requested,) = panel.receive(client.start_hello(IDENTITY, KEYS))
    client.receive(accept(panel, requested.seq, session_key))
    return client, panel


def test_hello_then_frames_both_ways() -> None:
    client, panel = pair()
    (requested,) = panel.receive(client.start_hello(IDENTITY, KEYS))
    assert requested == HelloRequested(110, IDENTITY)
    assert (client.phase, panel.phase) == (Phase.HELLO, Phase.HELLO)
    reply = accept(panel, requested.seq)
    first = panel.send(b'{"seq":0,"area":{}}')  # a broadcast in the same read as the reply
    events = client.receive(reply + first)
    assert isinstance(events[0], HelloReplied) and isinstance(events[0].outcome, HelloAccepted)
    assert isinstance(events[1], Received) and events[1].envelope.payload == b'{"seq":0,"area":{}}'
    assert (client.phase, panel.phase) == (Phase.FRAMED, Phase.FRAMED)
    assert client.session_id == panel.session_id == 7
    (received,) = panel.receive(client.send(b'{"seq":1}'))
    assert isinstance(received, Received) and received.envelope.payload == b'{"seq":1}'
    assert received.envelope.src == 1 and received.envelope.dest == 0  # client -> panel


def test_frames_sent_right_after_hello_wait_for_the_answer() -> None:
    """The panel parses nothing after a HELLO until it answered; then the frames count."""
    client, panel = pair()
    hello = client.start_hello(IDENTITY, KEYS)
    early = framed()[0].send(b'{"seq":1}')  # as if the client did not wait for the reply
    (requested,) = panel.receive(hello + early)
    assert isinstance(requested, HelloRequested)
    assert panel.receive(b"") == [] and panel.take_pending() == []  # answer still due
    accept(panel, requested.seq)
    (received,) = panel.take_pending()
    assert isinstance(received, Received) and received.envelope.payload == b'{"seq":1}'


def test_refused_hello_returns_to_cleartext_and_may_be_retried() -> None:
    client, panel = pair()
    (requested,) = panel.receive(client.start_hello(IDENTITY, KEYS))
    (replied,) = client.receive(panel.refuse_hello(11006, "invalid_id", requested.seq))
    assert replied == HelloReplied(HelloLinkRequired(11006, "invalid_id"))
    assert (client.phase, panel.phase) == (Phase.CLEARTEXT, Phase.CLEARTEXT)
    (requested,) = panel.receive(client.start_hello(IDENTITY, KEYS))
    (replied,) = client.receive(panel.refuse_hello(0, seq=requested.seq))
    assert isinstance(replied.outcome, HelloNoSession)


def test_link_exchange_gives_keys_and_stays_cleartext() -> None:
    client, panel = pair()
    request = client.start_link(IDENTITY, access_code="1234", passphrase="secret", cnonce="cd" * 20)
    assert client.phase is Phase.LINKING
    (linked,) = panel.receive(request)
    assert isinstance(linked, LinkRequested) and linked.request is not None
    proof = derive_link_proof(
        access_code="1234", passphrase="secret", identity=IDENTITY, nonce=NONCE, cnonce="cd" * 20
    )
    assert linked.request.password == proof.password
    reply = panel.reply_link(proof.tempkey_hex, {"enc": KEYS.enc, "hmac": KEYS.hmac})
    half = len(reply) // 2
    assert client.receive(reply[:half]) == []
    assert client.receive(reply[half:]) == [LinkReplied(KEYS)]
    assert client.phase is Phase.CLEARTEXT  # HELLO may follow on the same connection
    full = panel.reply_link(
        proof.tempkey_hex, {"error_code": 11005, "error_message": "Not enough space"}
    )
    client.start_link(IDENTITY, access_code="1234", passphrase="secret", cnonce="cd" * 20)
    assert client.receive(full) == [LinkReplied(LinkSlotsFull("Not enough space"))]


def test_malformed_and_unknown_cleartext_are_events_not_errors() -> None:
    _, panel = pair()
    events = panel.receive(dumps({"api_link": {"pass": 1}}) + dumps({"what": 1}))
    assert events == [LinkRequested(None), Unrecognised({"what": 1})]
    events = panel.receive(dumps({"seq": 9, "hello": {"sn": ""}}) + dumps({"x": 1}))
    assert events == [HelloRequested(9, None), Unrecognised({"x": 1})]  # nothing due
    assert panel.phase is Phase.CLEARTEXT
    assert panel.receive(b"{" * 10000) == [Overflowed()]


def test_bad_frames_in_a_session_are_events() -> None:
    client, _ = framed()
    _, other = framed(bytes(16))  # another session key: MAGIC fails
    events = client.receive(b"\x7e\x01garbage" + other.send(b"{}"))
    assert {type(e) for e in events[:-1]} == {FramingProblem}
    assert all(isinstance(e.error, FramingError) for e in events[:-1])
    assert isinstance(events[-1], Dropped) and isinstance(events[-1].error, EnvelopeError)


@pytest.mark.parametrize(
    ("role", "move"),
    [
        (Role.CLIENT, lambda c: c.send_banner(NONCE, "t")),
        (Role.CLIENT, lambda c: c.send(b"{}")),
        (
            Role.CLIENT,
            lambda c: c.accept_hello(
                seq=1, link_keys=KEYS, session_id=1, session_key=SESSION_KEY, session_hmac=bytes(32)
            ),
        ),
        (
            Role.CLIENT,
            lambda c: c.start_link(IDENTITY, access_code="1", passphrase="p", cnonce="c"),
        ),
        (Role.PANEL, lambda c: c.receive(b"{}")),  # before the banner
        (Role.PANEL, lambda c: c.start_hello(IDENTITY, KEYS)),
        (Role.PANEL, lambda c: c.refuse_hello(11006)),
        (Role.PANEL, lambda c: c.session_key),
    ],
)
def test_illegal_moves_are_named(role: Role, move: object) -> None:
    conn = Connection(role)
    with pytest.raises(IllegalMove) as raised:
        move(conn)  # type: ignore[operator]
    assert raised.value.role is role and raised.value.phase is conn.phase
    assert not isinstance(raised.value, E27Error)  # a bug of ours, never the panel's fault


def test_illegal_moves_later_in_the_handshake() -> None:
    client, panel = pair()
    client.start_hello(IDENTITY, KEYS)
    with pytest.raises(IllegalMove, match="start_hello is illegal for the client in phase hello"):
        client.start_hello(IDENTITY, KEYS)
    with pytest.raises(IllegalMove):
        client.start_link(IDENTITY, access_code="1", passphrase="p", cnonce="c")
    with pytest.raises(IllegalMove):
        panel.send_banner(NONCE, "again")
    with pytest.raises(IllegalMove):
        panel.accept_hello(
            seq=1, link_keys=KEYS, session_id=1, session_key=SESSION_KEY, session_hmac=bytes(32)
        )  # no HELLO received
    panel.receive(dumps({"seq": 3, "hello": IDENTITY.as_fields()}))
    with pytest.raises(IllegalMove):
        panel.reply_link("00" * 16, {})  # a HELLO answer is due first
    with pytest.raises(IllegalMove):
        panel.send(b"{}")


def test_secrets_stay_out_of_repr() -> None:
    client, panel = pair()
    (requested,) = panel.receive(client.start_hello(IDENTITY, KEYS))
    client.receive(accept(panel, requested.seq))
    text = (
        repr(client)
        + repr(panel)
        + repr(client.receive(panel.send(json.dumps({"code": 1234}).encode())))
    )
    assert SESSION_KEY.hex() not in text and "1234" not in text
