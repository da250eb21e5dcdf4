"""Session establishment with ``hello`` (protocol §7), both roles, as typed outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.cleartext import dumps
from e27bridge.protocol.crypto import decrypt_hello_field, encrypt_hello_field
from e27bridge.protocol.errors import PanelErrorCode
from e27bridge.protocol.identity import ClientIdentity, LinkKeys

HELLO_SEQ = 110
LINK_REQUIRED_CODES = frozenset({PanelErrorCode.INVALID_ID, PanelErrorCode.NOAUTH})


def build_hello_request(identity: ClientIdentity, seq: int = HELLO_SEQ) -> bytes:
    return dumps({"seq": seq, "hello": identity.as_fields()})


@dataclass(frozen=True, slots=True)
class HelloAccepted:
    session_id: int
    session_key: bytes = field(repr=False)
    session_hmac: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class HelloLinkRequired:
    """11006/11008: the panel does not accept this identity's link; re-link."""

    code: int
    message: str | None


@dataclass(frozen=True, slots=True)
class HelloNoSession:
    """Success code but no session fields: another client holds this ``sn`` (observed)."""

    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HelloRejected:
    code: int
    message: str | None


HelloOutcome = HelloAccepted | HelloLinkRequired | HelloNoSession | HelloRejected


def _session_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def classify_hello_reply(reply: dict[str, Any], link_keys: LinkKeys) -> HelloOutcome:
    body = reply.get("hello")
    if not isinstance(body, dict):
        return HelloRejected(int(PanelErrorCode.UNKNOWN), "hello reply is not an object")
    code = body.get("error_code", 0)
    message = body.get("error_message")
    message = message if isinstance(message, str) else None
    if not isinstance(code, int) or isinstance(code, bool):
        return HelloRejected(int(PanelErrorCode.UNKNOWN), f"bad error_code {code!r}")
    if code in LINK_REQUIRED_CODES:
        return HelloLinkRequired(code, message)
    if code != 0:
        return HelloRejected(code, message)
    return _session(body, link_keys)


def _session(body: dict[str, Any], link_keys: LinkKeys) -> HelloOutcome:
    """A success code: the session fields, decrypted with the link's ``enc`` key."""
    session_id = _session_id(body.get("session_id"))
    sk, shm = body.get("sk"), body.get("shm")
    missing = tuple(
        name
        for name, ok in (
            ("session_id", session_id is not None),
            ("sk", isinstance(sk, str) and len(sk) == 32),
            ("shm", isinstance(shm, str) and len(shm) == 64),
        )
        if not ok
    )
    if missing or session_id is None:
        return HelloNoSession(missing)
    try:
        session_key = decrypt_hello_field(link_keys.enc, str(sk))
        session_hmac = decrypt_hello_field(link_keys.enc, str(shm))
    except ValueError:
        return HelloRejected(int(PanelErrorCode.UNKNOWN), "sk/shm are not hex")
    if len(session_key) != 16 or len(session_hmac) != 32:
        return HelloRejected(int(PanelErrorCode.UNKNOWN), "sk/shm are not 16/32-byte keys")
    return HelloAccepted(session_id, session_key, session_hmac)


def find_hello_reply(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Banner objects may come first and share a read with the reply; skip them."""
    return next((obj for obj in objects if "hello" in obj), None)


def parse_hello_request(obj: dict[str, Any]) -> tuple[int, ClientIdentity] | None:
    """Panel side: ``(seq, identity)`` of a ``hello`` request."""
    body = obj.get("hello")
    if not isinstance(body, dict) or not isinstance(body.get("sn"), str) or not body["sn"]:
        return None
    seq = obj.get("seq", HELLO_SEQ)
    identity = ClientIdentity(
        sn=body["sn"],
        mn=str(body.get("mn", "")),
        fwver=str(body.get("fwver", "")),
        hwver=str(body.get("hwver", "")),
        osver=str(body.get("osver", "")),
    )
    return (seq if isinstance(seq, int) and not isinstance(seq, bool) else HELLO_SEQ), identity


def build_hello_accept(
    *, seq: int, link_keys: LinkKeys, session_id: int, session_key: bytes, session_hmac: bytes
) -> bytes:
    return dumps(
        {
            "hello": {
                "seq": seq,
                "session_id": session_id,
                "sk": encrypt_hello_field(link_keys.enc, session_key),
                "shm": encrypt_hello_field(link_keys.enc, session_hmac),
                "error_code": 0,
            }
        }
    )


def build_hello_error(code: int, message: str | None = None, seq: int | None = None) -> bytes:
    body: dict[str, Any] = {}
    if seq is not None:
        body["seq"] = seq
    body["error_code"] = code
    if message:
        body["error_message"] = message
    return dumps({"hello": body})
