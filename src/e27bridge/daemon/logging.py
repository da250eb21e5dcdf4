"""Log setup: structlog rendering JSON lines (journald, Docker) or a console view, redacted.

Every record, ours or a library's through the stdlib ``logging`` module, passes the same
redaction step just before rendering, so a PIN, access code, passphrase, password or key
cannot reach the output even when a caller logs a whole payload by mistake.
"""

from __future__ import annotations

import enum
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from pathlib import PurePath
from typing import Any, Literal, TextIO

import structlog
from pydantic import SecretBytes, SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

from e27bridge.protocol.redact import REDACTED, is_secret_key, scrub_text

HANDLER_NAME = "e27bridge"

#: Fields that may hold a raw MQTT payload: a bare 4-8 digit value there is taken for a PIN.
PAYLOAD_FIELDS = frozenset({"payload", "raw", "body", "data"})
_BARE_PIN = re.compile(r"^\s*\d{4,8}\s*$")


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if depth > 8:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if is_secret_key(k) else _redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v, depth + 1) for v in value)
    if isinstance(value, bytes | bytearray):
        return value  # raw frames are ciphertext or cleartext without secrets
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, enum.Enum) and isinstance(value.value, str | int):
        return value.value
    if isinstance(value, PurePath | datetime):
        return str(value)
    # Anything else is rendered with repr() later: scrub that text now.
    return scrub_text(repr(value))


def _is_bare_pin(value: object) -> bool:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("ascii", "replace")
    return isinstance(value, str) and bool(_BARE_PIN.match(value))


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret keys, ``SecretStr`` values and keyed secrets in text."""
    out: MutableMapping[str, Any] = {}
    for key, value in event_dict.items():
        secret = is_secret_key(key) and value is not None
        if secret or (key in PAYLOAD_FIELDS and _is_bare_pin(value)):
            out[key] = REDACTED
        else:
            out[key] = _redact_value(value)
    return dict(out)


def resolve_format(fmt: Literal["auto", "json", "console"], stream: TextIO) -> str:
    """``auto`` means console on a terminal, JSON lines anywhere else."""
    if fmt != "auto":
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "console" if callable(isatty) and isatty() else "json"


def configure_logging(
    level: str = "INFO",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging to ``stream`` (default stderr), redacted.

    Safe to call again (e.g. after the configuration is loaded): it replaces only the
    handler it installed before.
    """
    stream = sys.stderr if stream is None else stream
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    renderer: Processor
    if resolve_format(fmt, stream) == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=_wants_color(stream))

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def _wants_color(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty())
