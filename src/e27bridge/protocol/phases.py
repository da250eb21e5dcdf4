"""One phase machine for a connection, both roles: banner, then link or HELLO, then frames.

In the spirit of h11's ``Connection(our_role)``: bytes in, events out, bytes to write
returned by each move, and a named ``IllegalMove`` when a move does not fit the phase. No
sockets, no clock, no randomness (nonces, keys and session ids come from the caller).

Client: ``receive`` reports the banner; ``start_link`` (needs the banner's nonce) or
``start_hello`` (does not) sends the request; the reply arrives as ``LinkReplied`` or
``HelloReplied``; an accepted HELLO switches to the framed phase at once, so frames in the
same read are decoded too. Panel: ``send_banner`` first; ``receive`` reports
``LinkRequested`` and ``HelloRequested``; after a ``HelloRequested`` nothing more is parsed
until ``accept_hello`` or ``refuse_hello`` (call ``receive(b"")`` afterwards for bytes that
came early). In the framed phase both roles get ``Received``, ``Dropped`` and
``FramingProblem`` events and ``send`` frames and encrypts a payload.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.cleartext import JsonObjectReader
from e27bridge.protocol.discovery import banner_nonce, build_banner
from e27bridge.protocol.envelope import (
    CLIENT_ADDRESS,
    PANEL_ADDRESS,
    Envelope,
    EnvelopeCounter,
    decode_envelope,
    encode_envelope_frame,
)
from e27bridge.protocol.errors import EnvelopeError
from e27bridge.protocol.framing import Deframer, FramingError
from e27bridge.protocol.hello import (
    HELLO_SEQ,
    HelloAccepted,
    HelloOutcome,
    build_hello_accept,
    build_hello_error,
    build_hello_request,
    classify_hello_reply,
    parse_hello_request,
)
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import (
    LinkOutcome,
    LinkReplyReader,
    LinkRequest,
    build_link_reply,
    build_link_request,
    derive_link_proof,
    parse_link_request,
)


class Role(enum.Enum):
    CLIENT = "client"
    PANEL = "panel"


class Phase(enum.Enum):
    BANNER = "banner"  # panel: nothing sent yet
    CLEARTEXT = "cleartext"  # banner sent (panel) or maybe not yet seen (client)
    LINKING = "linking"  # client: api_link sent, its framed reply awaited
    HELLO = "hello"  # client: hello sent; panel: hello received, its answer due
    FRAMED = "framed"  # the session: encrypted frames both ways


class IllegalMove(Exception):
    """A move that does not fit the role or the phase: a bug in the caller, never the peer's
    doing, so deliberately not a ``ProtocolError`` (that would end a session as the panel's
    fault)."""

    def __init__(self, role: Role, phase: Phase, move: str, why: str = "") -> None:
        self.role, self.phase, self.move = role, phase, move
        detail = f": {why}" if why else ""
        super().__init__(f"{move} is illegal for the {role.value} in phase {phase.value}{detail}")


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BannerReceived:
    nonce: str


@dataclass(frozen=True, slots=True)
class LinkReplied:
    outcome: LinkOutcome


@dataclass(frozen=True, slots=True)
class HelloReplied:
    outcome: HelloOutcome


@dataclass(frozen=True, slots=True)
class LinkRequested:
    """``request`` is None for a malformed ``api_link``."""

    request: LinkRequest | None


@dataclass(frozen=True, slots=True)
class HelloRequested:
    """An answer is due (``accept_hello``/``refuse_hello``) unless ``identity`` is None: a
    malformed ``hello`` leaves the connection in cleartext."""

    seq: int
    identity: ClientIdentity | None


@dataclass(frozen=True, slots=True)
class Unrecognised:
    """A cleartext object that is neither banner, ``api_link`` nor ``hello``."""

    obj: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Overflowed:
    """Cleartext without an end: the buffer limit was reached and the bytes dropped."""


@dataclass(frozen=True, slots=True)
class Received:
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class Dropped:
    """A CRC-valid frame that did not decrypt to a valid envelope (ADR-0001)."""

    error: EnvelopeError


@dataclass(frozen=True, slots=True)
class FramingProblem:
    error: FramingError


Event = (
    BannerReceived
    | LinkReplied
    | HelloReplied
    | LinkRequested
    | HelloRequested
    | Unrecognised
    | Overflowed
    | Received
    | Dropped
    | FramingProblem
)


class Connection:
    """The phases of one TCP connection as seen by ``role``."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.phase = Phase.BANNER if role is Role.PANEL else Phase.CLEARTEXT
        self.nonce: str | None = None
        self.session_id: int | None = None
        self._cleartext = JsonObjectReader()
        self._early: list[dict[str, Any]] = []  # objects read before the HELLO reply
        self._link_reply: LinkReplyReader | None = None
        self._link_keys: LinkKeys | None = None
        self._deframer = Deframer()
        self._key = b""
        self._counter = EnvelopeCounter()
        self._pending = b""  # panel: bytes that came while a HELLO answer was due
        client = role is Role.CLIENT
        self._ours = CLIENT_ADDRESS if client else PANEL_ADDRESS
        self._theirs = PANEL_ADDRESS if client else CLIENT_ADDRESS

    def __repr__(self) -> str:
        return f"Connection({self.role.value}, {self.phase.value})"

    # --- bytes in -----------------------------------------------------------------------

    def receive(self, data: bytes) -> list[Event]:
        """Everything ``data`` (with what came before) completes, in order."""
        if self.phase is Phase.BANNER:
            raise IllegalMove(self.role, self.phase, "receive", "send the banner first")
        if self.phase is Phase.FRAMED:
            return self._frames(data)
        if self.phase is Phase.LINKING:
            return self._link_bytes(data)
        if self.role is Role.PANEL:
            return self._panel_cleartext(data)
        return self._client_cleartext(data)

    def _frames(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for item in self._deframer.feed(data):
            if isinstance(item, FramingError):
                events.append(FramingProblem(item))
                continue
            try:
                events.append(Received(decode_envelope(self._key, item)))
            except EnvelopeError as exc:
                events.append(Dropped(exc))
        return events

    def _link_bytes(self, data: bytes) -> list[Event]:
        assert self._link_reply is not None
        outcome = self._link_reply.feed(data)
        if outcome is None:
            return []
        self._link_reply = None
        self.phase = Phase.CLEARTEXT
        return [LinkReplied(outcome)]

    def _client_cleartext(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        objects = self._early + self._cleartext.feed(data)
        self._early = []
        for index, obj in enumerate(objects):
            nonce = banner_nonce(obj)
            if nonce is not None:
                self.nonce = nonce
                events.append(BannerReceived(nonce))
            elif self.phase is Phase.HELLO and "hello" in obj:
                events.extend(self._hello_reply(obj, objects[index + 1 :]))
                break
            elif self.phase is Phase.CLEARTEXT and "hello" in obj:
                self._early.append(obj)  # a reply racing our request: keep it
            else:
                events.append(Unrecognised(obj))
        if self._cleartext.overflowed:
            self._cleartext.overflowed = False
            events.append(Overflowed())
        return events

    def _hello_reply(self, reply: dict[str, Any], rest: list[dict[str, Any]]) -> list[Event]:
        assert self._link_keys is not None
        outcome = classify_hello_reply(reply, self._link_keys)
        if not isinstance(outcome, HelloAccepted):
            self.phase = Phase.CLEARTEXT
            self._early = rest
            return [HelloReplied(outcome)]
        self._enter_session(outcome.session_key, outcome.session_id)
        return [HelloReplied(outcome), *self._frames(self._cleartext.take_remainder())]

    def _panel_cleartext(self, data: bytes) -> list[Event]:
        if self.phase is Phase.HELLO:
            self._pending += data  # parsed once the HELLO is answered
            return []
        events = self._panel_objects(self._cleartext.feed(data))
        if self._cleartext.overflowed:
            self._cleartext.overflowed = False
            events.append(Overflowed())
        return events

    def _panel_objects(self, objects: list[dict[str, Any]]) -> list[Event]:
        events: list[Event] = []
        for index, obj in enumerate(objects):
            if "api_link" in obj:
                events.append(LinkRequested(parse_link_request(obj)))
            elif "hello" in obj:
                events.append(self._hello_request(obj))
                if self.phase is Phase.HELLO:
                    self._early = objects[index + 1 :]  # after the answer, if cleartext
                    break
            else:
                events.append(Unrecognised(obj))
        return events

    def _hello_request(self, obj: dict[str, Any]) -> HelloRequested:
        parsed = parse_hello_request(obj)
        if parsed is None:  # nothing to answer: cleartext goes on
            seq = obj.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool):
                seq = HELLO_SEQ
            return HelloRequested(seq, None)
        self.phase = Phase.HELLO
        return HelloRequested(*parsed)

    # --- client moves -------------------------------------------------------------------

    def start_link(
        self, identity: ClientIdentity, *, access_code: str, passphrase: str, cnonce: str
    ) -> bytes:
        """The ``api_link`` request; its framed reply comes as ``LinkReplied``."""
        self._expect(Role.CLIENT, Phase.CLEARTEXT, "start_link")
        if self.nonce is None:
            raise IllegalMove(self.role, self.phase, "start_link", "no banner nonce yet")
        proof = derive_link_proof(
            access_code=access_code,
            passphrase=passphrase,
            identity=identity,
            nonce=self.nonce,
            cnonce=cnonce,
        )
        self._link_reply = LinkReplyReader(proof)
        self.phase = Phase.LINKING
        # What followed the banner (the rest of its second object) precedes any reply.
        self._link_reply.feed(self._cleartext.take_remainder())
        return build_link_request(identity, proof, cnonce)

    def start_hello(self, identity: ClientIdentity, link_keys: LinkKeys) -> bytes:
        """The ``hello`` request (the banner need not have arrived: HELLO needs no nonce)."""
        self._expect(Role.CLIENT, Phase.CLEARTEXT, "start_hello")
        self._link_keys = link_keys
        self.phase = Phase.HELLO
        return build_hello_request(identity)

    # --- panel moves --------------------------------------------------------------------

    def send_banner(self, nonce: str, local_time: str) -> bytes:
        self._expect(Role.PANEL, Phase.BANNER, "send_banner")
        self.nonce = nonce
        self.phase = Phase.CLEARTEXT
        return build_banner(nonce, local_time)

    def reply_link(self, tempkey_hex: str, body: dict[str, Any]) -> bytes:
        """The framed ``api_link`` reply (keys or a refusal); the phase stays cleartext."""
        self._expect(Role.PANEL, Phase.CLEARTEXT, "reply_link")
        return build_link_reply(tempkey_hex, body)

    def accept_hello(
        self,
        *,
        seq: int,
        link_keys: LinkKeys,
        session_id: int,
        session_key: bytes,
        session_hmac: bytes,
    ) -> bytes:
        self._expect(Role.PANEL, Phase.HELLO, "accept_hello")
        reply = build_hello_accept(
            seq=seq,
            link_keys=link_keys,
            session_id=session_id,
            session_key=session_key,
            session_hmac=session_hmac,
        )
        self._enter_session(session_key, session_id)
        self._early = []  # cleartext objects after the HELLO: the session has begun
        self._pending = self._cleartext.take_remainder() + self._pending
        return reply

    def refuse_hello(self, code: int, message: str | None = None, seq: int | None = None) -> bytes:
        """Any refusal (11006, or code 0 without session fields); cleartext goes on."""
        self._expect(Role.PANEL, Phase.HELLO, "refuse_hello")
        self.phase = Phase.CLEARTEXT
        return build_hello_error(code, message, seq)

    def take_pending(self) -> list[Event]:
        """Panel: events of what arrived while a HELLO answer was due (call after it)."""
        if self.phase is Phase.HELLO:
            return []
        pending, self._pending = self._pending, b""
        early, self._early = self._early, []
        if self.phase is Phase.FRAMED:
            return self._frames(pending)
        return self._panel_objects(early) + self._panel_cleartext(pending)

    # --- both, framed -------------------------------------------------------------------

    def send(self, payload: bytes) -> bytes:
        """One payload, enveloped, encrypted with the session key and framed."""
        self._expect(self.role, Phase.FRAMED, "send")
        envelope = Envelope(self._counter.next(), self._ours, self._theirs, 0, payload)
        return encode_envelope_frame(self._key, envelope)

    @property
    def session_key(self) -> bytes:
        self._expect(self.role, Phase.FRAMED, "session_key")
        return self._key

    def _enter_session(self, key: bytes, session_id: int) -> None:
        self._key = key
        self.session_id = session_id
        self.phase = Phase.FRAMED

    def _expect(self, role: Role, phase: Phase, move: str) -> None:
        if self.role is not role or self.phase is not phase:
            raise IllegalMove(self.role, self.phase, move)
