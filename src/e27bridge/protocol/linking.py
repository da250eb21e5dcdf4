"""Provisioning with ``api_link`` (protocol §6), both roles.

Wrong credentials get no reply at all from a real panel, so the client's only signal is a
timeout; that decision belongs to the I/O layer, these functions only compute and parse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.cleartext import JsonObjectReader, dumps
from e27bridge.protocol.crypto import swapped_key
from e27bridge.protocol.envelope import (
    CLIENT_ADDRESS,
    PANEL_ADDRESS,
    Envelope,
    decode_envelope,
    encode_envelope_frame,
)
from e27bridge.protocol.errors import EnvelopeError, LinkFailed
from e27bridge.protocol.framing import Deframer, Frame
from e27bridge.protocol.identity import ClientIdentity, LinkKeys

LINK_SEQ = 110


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class LinkProof:
    """``pass`` travels on the wire; ``tempkey`` decrypts the reply."""

    password: str = field(repr=False)
    tempkey_hex: str = field(repr=False)


def derive_link_proof(
    *, access_code: str, passphrase: str, identity: ClientIdentity, nonce: str, cnonce: str
) -> LinkProof:
    hash1 = sha1_hex(f"{access_code}:{identity.sn}:{passphrase}")
    hash2 = sha1_hex(f"{identity.sn}:{nonce}:{identity.mn}")
    hash3 = sha1_hex(f"{hash1}:{cnonce}:{hash2}")
    return LinkProof(password=hash3[:8], tempkey_hex=hash3[8:])


def build_link_request(identity: ClientIdentity, proof: LinkProof, cnonce: str) -> bytes:
    body = {"pass": proof.password, "cnonce": cnonce, **identity.as_fields()}
    return dumps({"seq": LINK_SEQ, "api_link": body})


@dataclass(frozen=True, slots=True)
class LinkSlotsFull:
    message: str


@dataclass(frozen=True, slots=True)
class LinkRefused:
    code: int | None
    message: str | None


LinkOutcome = LinkKeys | LinkSlotsFull | LinkRefused


def classify_link_reply(objects: list[dict[str, Any]]) -> LinkOutcome:
    """Turn the decrypted reply objects into keys or a typed refusal."""
    for obj in objects:
        body = obj.get("api_link", obj)
        if not isinstance(body, dict):
            continue
        message = body.get("error_message") or obj.get("error_message")
        if isinstance(message, str) and "not enough space" in message.lower():
            return LinkSlotsFull(message)
        if "api_link" not in obj:
            continue
        code = body.get("error_code", 0)
        enc, hmac = body.get("enc"), body.get("hmac")
        if code in (0, None) and isinstance(enc, str) and isinstance(hmac, str):
            try:
                return LinkKeys(enc=enc.lower(), hmac=hmac.lower())
            except ValueError:
                return LinkRefused(None, "malformed link keys")
        return LinkRefused(
            code if isinstance(code, int) else None, message if isinstance(message, str) else None
        )
    return LinkRefused(None, "no api_link object in reply")


class LinkReplyReader:
    """Client side: deframe, decrypt with ``swap32(tempkey)`` and classify the reply."""

    def __init__(self, proof: LinkProof) -> None:
        self._key = swapped_key(proof.tempkey_hex)
        self._deframer = Deframer()
        self.ack: int | None = None

    def feed(self, data: bytes) -> LinkOutcome | None:
        for event in self._deframer.feed(data):
            if not isinstance(event, Frame):
                continue
            try:
                envelope = decode_envelope(self._key, event)
            except EnvelopeError as exc:
                raise LinkFailed(f"link reply did not decrypt: {exc}") from exc
            self.ack = envelope.head
            return classify_link_reply(JsonObjectReader().feed(envelope.payload))
        return None


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """Panel side: a parsed ``api_link`` request."""

    identity: ClientIdentity
    password: str = field(repr=False)
    cnonce: str


def parse_link_request(obj: dict[str, Any]) -> LinkRequest | None:
    body = obj.get("api_link")
    if not isinstance(body, dict):
        return None
    values = {k: body.get(k) for k in ("pass", "cnonce", "mn", "sn")}
    if not all(isinstance(v, str) and v for v in values.values()):
        return None
    identity = ClientIdentity(
        sn=str(values["sn"]),
        mn=str(values["mn"]),
        fwver=str(body.get("fwver", "")),
        hwver=str(body.get("hwver", "")),
        osver=str(body.get("osver", "")),
    )
    return LinkRequest(identity, str(values["pass"]), str(values["cnonce"]))


def build_link_reply(tempkey_hex: str, body: dict[str, Any], head: int = 0) -> bytes:
    """Panel side: one framed schema-0 frame encrypted with ``swap32(tempkey)``."""
    envelope = Envelope(1, PANEL_ADDRESS, CLIENT_ADDRESS, head, dumps({"api_link": body}))
    return encode_envelope_frame(swapped_key(tempkey_hex), envelope)
