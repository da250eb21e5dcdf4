"""The JSON message layer of a session (protocol §8): requests, inbound routing, errors."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.cleartext import dumps
from e27bridge.protocol.errors import MalformedMessage, PanelRejected

SEQ_MAX = 2147483647
SEQ_WRAP_TO = 10
_ROOT_ERROR_KEYS = frozenset(
    {
        "seq",
        "session_id",
        "error_code",
        "error_message",
        "error_text",
        "error_detail",
        "error_payload",
        "payload",
        "detail",
    }
)
# Domains whose reply nests ``seq`` inside the object instead of at the root.
_NESTED_SEQ_DOMAINS = frozenset({"authenticate", "hello"})


class SeqAllocator:
    """JSON ``seq``: positive, never 0; wraps after 2^31-1 to 10 like the reference."""

    def __init__(self, start: int = 1) -> None:
        if not 1 <= start <= SEQ_MAX:
            raise ValueError("seq must be in 1..2^31-1")
        self._next = start

    def next(self) -> int:
        value = self._next
        self._next = SEQ_WRAP_TO if value >= SEQ_MAX else value + 1
        return value


def encode_request(
    seq: int, session_id: int | None, domain: str, command: str | None, args: Any
) -> bytes:
    """``{"seq":..,"session_id":..,"<domain>":{"<command>":args}}``; no command for authenticate."""
    message: dict[str, Any] = {"seq": seq}
    if session_id is not None:
        message["session_id"] = session_id
    message[domain] = args if command is None else {command: args}
    return dumps(message)


class MessageKind(enum.Enum):
    REPLY = "reply"  # carries a seq > 0: a reply if it matches the outstanding request
    BROADCAST = "broadcast"  # seq 0: unsolicited
    UNCORRELATED = "uncorrelated"  # no usable seq


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decoded panel message, routed to domain/command with its error fields."""

    kind: MessageKind
    seq: int | None
    domain: str | None  # None for a root-level error
    command: str | None  # None for domain-level messages and root errors
    body: dict[str, Any] = field(repr=False)  # the command (or domain) object
    value: Any = field(default=None, repr=False)  # non-object command value (form C)
    error_code: int = 0
    error_message: str | None = None
    session_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_code == 0

    def raise_for_error(self) -> None:
        if self.error_code:
            raise PanelRejected(self.error_code, self.error_message)


def _error_fields(*objs: dict[str, Any]) -> tuple[int, str | None]:
    code = 0
    for obj in objs:
        raw = obj.get("error_code")
        # Fail closed: a numeric string is still an error code.
        candidate = (
            int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else _int(raw)
        )
        if candidate:
            code = candidate
            break
    message = None
    for obj in objs:
        for key in ("error_message", "error_text"):
            if isinstance(obj.get(key), str) and obj[key]:
                message = obj[key]
                break
        if message:
            break
    return code, message


def decode_message(payload: bytes) -> Inbound:
    """Route one payload; anything that is not one E27 message raises ``MalformedMessage``."""
    try:
        root = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedMessage(f"payload is not UTF-8 JSON: {exc}") from exc
    return route_message(root)


def route_message(root: Any) -> Inbound:
    """One decoded JSON value -> an ``Inbound``; anything else raises ``MalformedMessage``."""
    if not isinstance(root, dict):
        raise MalformedMessage("message is not a JSON object")
    session_id = _int(root.get("session_id"))
    if "error_code" in root and set(root) <= _ROOT_ERROR_KEYS:
        code, message = _error_fields(root)
        seq = _int(root.get("seq"))
        return Inbound(_kind(seq), seq, None, None, root, None, code, message, session_id)
    domain, domain_obj = _only_domain(root)
    raw_seq = root.get("seq")
    if domain in _NESTED_SEQ_DOMAINS:
        raw_seq = domain_obj.get("seq", raw_seq)
        session_id = _int(domain_obj.get("session_id")) or session_id
    seq = _valid_seq(raw_seq)
    if domain in _NESTED_SEQ_DOMAINS:
        return _domain_level(seq, domain, domain_obj, root, session_id)
    return _command_level(seq, domain, domain_obj, root, session_id)


def _only_domain(root: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    domains = [key for key in root if key not in ("seq", "session_id")]
    if len(domains) != 1:
        raise MalformedMessage(f"expected one domain, got {sorted(domains)}")
    domain = domains[0]
    domain_obj = root[domain]
    if not isinstance(domain_obj, dict):
        raise MalformedMessage(f"domain {domain!r} is not an object")
    return domain, domain_obj


def _valid_seq(raw_seq: Any) -> int | None:
    seq = _int(raw_seq)
    if raw_seq is not None and (seq is None or seq < 0):
        raise MalformedMessage(f"invalid seq {raw_seq!r}")
    return seq


def _domain_level(
    seq: int | None,
    domain: str,
    domain_obj: dict[str, Any],
    root: dict[str, Any],
    session_id: int | None,
) -> Inbound:
    code, message = _error_fields(domain_obj, root)
    return Inbound(_kind(seq), seq, domain, None, domain_obj, None, code, message, session_id)


def _command_level(
    seq: int | None,
    domain: str,
    domain_obj: dict[str, Any],
    root: dict[str, Any],
    session_id: int | None,
) -> Inbound:
    commands = [
        key for key in domain_obj if key not in ("error_code", "error_message", "error_text")
    ]
    if len(commands) == 1:
        command = commands[0]
        value = domain_obj[command]
        body = value if isinstance(value, dict) else {}
        code, message = _error_fields(body, domain_obj, root)
        plain = None if isinstance(value, dict) else value
        return Inbound(_kind(seq), seq, domain, command, body, plain, code, message, session_id)
    objects = [key for key in commands if isinstance(domain_obj[key], dict)]
    if not objects and "error_code" in domain_obj:
        return _domain_level(seq, domain, domain_obj, root, session_id)
    raise MalformedMessage(f"expected one command in {domain!r}, got {sorted(commands)}")


def _kind(seq: int | None) -> MessageKind:
    if seq is None:
        return MessageKind.UNCORRELATED
    return MessageKind.BROADCAST if seq == 0 else MessageKind.REPLY


@dataclass(frozen=True, slots=True)
class PanelRequest:
    """Panel side: one parsed client request."""

    seq: int
    session_id: int | None
    domain: str
    command: str | None  # None for the top-level ``authenticate``
    args: Any = field(repr=False)

    @property
    def params(self) -> dict[str, Any]:
        """Arguments as an object; ``true`` (Dealer API style) means none."""
        return self.args if isinstance(self.args, dict) else {}


def parse_request(payload: bytes) -> PanelRequest:
    try:
        root = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedMessage(f"request is not UTF-8 JSON: {exc}") from exc
    if not isinstance(root, dict):
        raise MalformedMessage("request is not a JSON object")
    seq = _int(root.get("seq"))
    if seq is None or seq <= 0:
        raise MalformedMessage(f"request seq {root.get('seq')!r} is not a positive integer")
    domains = [key for key in root if key not in ("seq", "session_id")]
    if len(domains) != 1:
        raise MalformedMessage(f"expected one domain, got {sorted(domains)}")
    domain = domains[0]
    domain_obj = root[domain]
    session_id = _int(root.get("session_id"))
    if domain == "authenticate":
        return PanelRequest(seq, session_id, domain, None, domain_obj)
    if not isinstance(domain_obj, dict) or len(domain_obj) != 1:
        raise MalformedMessage(f"expected one command in {domain!r}")
    ((command, args),) = domain_obj.items()
    return PanelRequest(seq, session_id, domain, command, args)
