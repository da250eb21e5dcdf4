"""Event loop selection: uvloop by default when installed, plain asyncio on request."""

from __future__ import annotations

import asyncio
import sys

import pytest

from e27bridge.daemon import eventloop


async def current() -> str:
    await asyncio.sleep(0)
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"


def test_auto_uses_uvloop_when_installed() -> None:
    assert eventloop.run(current(), "auto") == "uvloop"
    assert eventloop.run(current(), "uvloop") == "uvloop"


def test_asyncio_on_request() -> None:
    assert eventloop.run(current(), "asyncio") == "asyncio"


def test_missing_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes ``import uvloop`` fail
    assert eventloop.loop_factory("auto") is None
    assert eventloop.run(current(), "auto") == "asyncio"
    with pytest.raises(eventloop.LoopUnavailableError, match="uvloop is not installed"):
        eventloop.loop_factory("uvloop")
