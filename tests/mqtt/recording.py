"""A ``Sink`` that records what would be published, for tests of one publisher alone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Published:
    topic: str
    payload: str | bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class RecordingSink:
    published: list[Published] = field(default_factory=list)

    async def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        retain: bool = True,
        qos: int = 1,
        urgent: bool = True,
    ) -> None:
        self.published.append(Published(topic, payload, retain))

    @property
    def sent(self) -> list[tuple[str, str | bytes]]:
        return [(p.topic, p.payload) for p in self.published]
