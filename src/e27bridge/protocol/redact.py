"""Secrets out of anything that leaves the process: the log and the traffic tap both use it.

A key named like a secret (PIN, code, access code, passphrase, link keys, ...) has its value
replaced wherever it appears, in a decoded message or as ``key: value`` inside free text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

#: Keys whose values are secret wherever they appear (compared case-insensitively).
SECRET_KEYS = frozenset(
    {
        "pin",
        "code",
        "user_code",
        "usercode",
        "access_code",
        "accesscode",
        "passphrase",
        "password",
        "passwd",
        "link_key",
        "linkkey",
        "link_keys",
        "enc",
        "hmac",
        "sk",
        "shm",
        "session_key",
        "secret",
        "token",
    }
)

_KEY_ALTERNATION = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
#: ``"pin": 1234``, ``code=1234``, ``\"code\":\"1234\"`` inside free text (payloads, reprs).
_KEYED_SECRET = re.compile(
    rf"(?P<head>(?<![A-Za-z0-9_])(?:{_KEY_ALTERNATION})\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    r"(?P<value>Secret(?:Str|Bytes)\([^)]*\)|[^\s\"'\\,;}&)\]]+)",
    re.IGNORECASE,
)
#: ``mqtt://user:password@host``
_URL_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]+:)(?P<value>[^@\s]+)(?=@)")


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SECRET_KEYS


def scrub_text(text: str) -> str:
    text = _KEYED_SECRET.sub(lambda m: m.group("head") + REDACTED, text)
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def redact_json(value: Any, depth: int = 0) -> Any:
    """A decoded JSON value with every secret key's value and keyed text secret replaced;
    too deep a value is dropped whole (a message is never that deep)."""
    if depth > 16:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_secret_key(k) else redact_json(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_json(v, depth + 1) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value
