"""The traffic tap: every request sent and every message received, decoded and redacted.

Records are built only when someone listens (``panels[].tap``), and with every PIN, code
and key already removed (``protocol.redact``), so nothing secret is ever kept in one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from e27bridge.protocol.messages import Inbound
from e27bridge.protocol.redact import redact_json
from e27bridge.protocol.requests import RequestSpec


@dataclass(frozen=True, slots=True)
class TapRecord:
    direction: str  # "out" (a request) or "in" (a reply, broadcast or error)
    kind: str  # request, reply, broadcast, ...
    seq: int | None
    time: float  # seconds since the epoch
    domain: str | None
    command: str | None
    body: Any  # redacted
    error_code: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "kind": self.kind,
            "seq": self.seq,
            "time": round(self.time, 3),
            "domain": self.domain,
            "command": self.command,
            "body": self.body,
            "error_code": self.error_code,
        }


Tap = Callable[[TapRecord], None]


def request_record(seq: int, spec: RequestSpec) -> TapRecord:
    body = redact_json(spec.args)
    return TapRecord("out", "request", seq, time.time(), spec.domain, spec.command, body)


def inbound_record(message: Inbound) -> TapRecord:
    body = redact_json(message.body if message.value is None else message.value)
    return TapRecord(
        "in",
        message.kind.value,
        message.seq,
        time.time(),
        message.domain,
        message.command,
        body,
        message.error_code,
    )
