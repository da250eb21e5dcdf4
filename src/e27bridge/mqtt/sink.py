"""What publishers write to: the connection, optionally behind a coalescing window."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    async def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        retain: bool = True,
        qos: int = 1,
        urgent: bool = True,
    ) -> None:
        """Publish now, or within the coalescing window when ``urgent`` is false.

        Publishing while the broker is away is a silent no-op: everything is republished
        from the current snapshots on the next connect.
        """
        ...
