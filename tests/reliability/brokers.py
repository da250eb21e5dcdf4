"""A broker fixture for tests that flood a subscriber: mosquitto keeps what it has not read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtt.conftest import Broker

from .flood import BROKER_CONFIG


@pytest.fixture(name="broker")
def keeping_broker(tmp_path: Path) -> Iterator[Broker]:
    """Overrides the rig's broker (import it as ``broker``): one that does not drop a slow
    subscriber's messages past mosquitto's default 1,000 queued."""
    b = Broker(tmp_path, BROKER_CONFIG)
    b.start()
    try:
        yield b
    finally:
        b.stop()
