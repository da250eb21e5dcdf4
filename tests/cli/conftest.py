"""Helpers for CLI tests: run the installed console script as a user would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "e27bridge"


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any E27BRIDGE_* setting leaking into the command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("E27BRIDGE_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextlib.contextmanager
def terminal_sigint() -> Iterator[None]:
    """Commands started in the block get Ctrl-C as from a terminal. A shell's background job
    (a CI runner may start us as one) has SIGINT ignored, which children inherit and Python
    then leaves ignored; a handled signal is reset to the default in a child instead."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_until(
    stream: asyncio.StreamReader, needle: str, timeout: float, seen: list[str]
) -> str:
    """Lines from ``stream`` (kept in ``seen``) until one contains ``needle``; returns it."""
    async with asyncio.timeout(timeout):
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError(f"stream ended before {needle!r}; got:\n" + "\n".join(seen))
            line = raw.decode("utf-8", "replace").rstrip("\n")
            seen.append(line)
            if needle in line:
                return line
