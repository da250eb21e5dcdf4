"""The Homie v5 tree an earlier run left, removed once ``bridge.homie_versions`` drops 5.

Homie 4 and HA discovery clear their own retained topics when switched off (ADR-0121,
ADR-0107); without v5 there is no ``HomieFeature`` to do it, so this feature does (ADR-0152).
It watches only the devices this bridge would publish: its root ``<prefix>/5/<bridge-id>``
and ``<prefix>/5/<panel-id>`` of each configured panel, and clears a device only when its
``$description`` (if any is left) names this bridge as root, so another bridge's device
under the same prefix is never touched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import structlog

from e27bridge.mqtt.feature import Feature
from e27bridge.mqtt.features import ECHO_GRACE, Unsubscribe
from e27bridge.mqtt.inbound import Inbound
from e27bridge.mqtt.sink import Sink
from e27bridge.mqtt.topics import Topics

log = structlog.get_logger(__name__)

# What a v5 device of ours retains: $state and $description, $alert/<id> and values, $target.
FILTERS = ("+", "+/+", "+/+/$target")


def owner(device_id: str, description: bytes) -> str | None:
    """The root device a v5 device belongs to: its own id for a root (no ``root`` key);
    None when the description is not a JSON object (then nobody can tell)."""
    try:
        doc = json.loads(description)
    except ValueError:
        return None
    return doc.get("root", device_id) if isinstance(doc, dict) else None


class Homie5Sweep(Feature):
    """Records the retained topics of our v5 devices after a connect and, once they are in
    (the ghost check's grace, ADR-0150), clears them and drops its subscriptions."""

    name = "homie5_sweep"

    def __init__(
        self, topics: Topics, sink: Sink, panel_ids: Sequence[str], *, unsubscribe: Unsubscribe
    ) -> None:
        self._t = topics
        self._sink = sink
        self._unsubscribe = unsubscribe
        self.grace = ECHO_GRACE
        ids = [] if topics.homie5 else [topics.bridge_id, *sorted(panel_ids)]
        self._found: dict[str, dict[str, bytes]] = {topics.device5(d) + "/": {} for d in ids}
        self._task: asyncio.Task[None] | None = None
        self.sweeps = 0  # completed (tests, logs)

    def subscriptions(self) -> Sequence[str]:
        return [f"{base}{f}" for base in self._found for f in FILTERS]

    async def republish(self) -> None:
        if self._found and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._sweep())

    async def handle_message(self, message: Inbound) -> bool:
        if not message.retain:
            return False
        for base, found in self._found.items():
            if message.topic.startswith(base):
                rest = message.topic[len(base) :]
                ours = "/" in rest or rest.startswith("$")  # not a node-level topic
                if message.payload and ours:
                    found[message.topic] = message.payload
                return True
        return False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _sweep(self) -> None:
        await asyncio.sleep(self.grace)
        for base, found in self._found.items():
            topics = dict(found)
            found.clear()
            if topics:
                await self._clear(base, topics)
        await self._unsubscribe(*self.subscriptions())
        self.sweeps += 1

    async def _clear(self, base: str, topics: dict[str, bytes]) -> None:
        device = base.rstrip("/").rsplit("/", 1)[1]
        description = topics.get(base + "$description")
        # without a description (a fragment, e.g. of an interrupted removal) the id decides
        root = self._t.bridge_id if description is None else owner(device, description)
        if root != self._t.bridge_id:
            log.warning("homie5_sweep_skipped", device=device, root=root, topics=len(topics))
            return
        state = base + "$state"  # first: consumers see the device go before its parts
        for topic in sorted(topics, key=lambda t: (t != state, t)):
            await self._sink.publish(topic, b"")
        log.info("homie5_device_removed", device=device, topics=len(topics))


__all__ = ["Homie5Sweep"]
