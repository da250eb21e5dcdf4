"""Shared harness for the pure panel tests: a panel, one session and a fake clock."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from e27bridge.protocol.messages import Inbound, PanelRequest, route_message
from e27bridge.simulator.config import SimulatorConfig, profile_config
from e27bridge.simulator.panel import SessionAuth, SimulatedPanel


def configure(
    profile: str = "small",
    *,
    time_scale: float = 1.0,
    seed: int = 7,
    **behaviour: Any,
) -> SimulatorConfig:
    config = profile_config(profile)
    return dataclasses.replace(
        config,
        seed=seed,
        timings=dataclasses.replace(config.timings, time_scale=time_scale),
        behaviour=dataclasses.replace(
            config.behaviour, **{"numeric_string_blocks": 0.0, **behaviour}
        ),
    )


class Harness:
    """Drives a ``SimulatedPanel`` directly: requests in, decoded replies out."""

    def __init__(self, config: SimulatorConfig | None = None, *, rng_seed: int = 1) -> None:
        self.config = config or configure()
        self.now = 100.0
        self.panel = SimulatedPanel(self.config, now=self.now, rng=random.Random(rng_seed))
        self.auth = SessionAuth(session_id=4242)
        self._seq = 0

    def raw(
        self,
        domain: str,
        command: str | None,
        args: Any = None,
        *,
        session_id: int | bool | None = True,
        auth: SessionAuth | None = None,
    ) -> dict[str, Any]:
        self._seq += 1
        auth = auth or self.auth
        sid = auth.session_id if session_id is True else session_id
        request = PanelRequest(
            self._seq, sid or None, domain, command, {} if args is None else args
        )
        return self.panel.handle(request, auth, self.now)

    def send(self, domain: str, command: str | None, args: Any = None, **kw: Any) -> Inbound:
        reply = self.raw(domain, command, args, **kw)
        inbound = route_message(reply)
        assert inbound.seq == self._seq, reply  # every reply correlates by its seq
        return inbound

    def ok(self, domain: str, command: str | None, args: Any = None, **kw: Any) -> dict[str, Any]:
        inbound = self.send(domain, command, args, **kw)
        assert inbound.error_code == 0, inbound.body
        return inbound.body

    def code(self, domain: str, command: str | None, args: Any = None, **kw: Any) -> int:
        return self.send(domain, command, args, **kw).error_code

    def authenticate(self, pin: int = 1234) -> dict[str, Any]:
        return self.ok("authenticate", None, {"pin": pin})

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.panel.advance(self.now)

    def run_until_idle(self, limit: float) -> None:
        """Advance through every timer up to ``now + limit``."""
        end = self.now + limit
        while (deadline := self.panel.next_deadline()) is not None and deadline <= end:
            self.now = max(self.now, deadline)
            self.panel.advance(self.now)
        self.now = end
        self.panel.advance(self.now)

    def broadcasts(self, domain: str | None = None) -> list[dict[str, Any]]:
        """Bodies of queued broadcasts (all checked to be seq 0 without session_id)."""
        out = []
        for message in self.panel.take_broadcasts():
            assert message["seq"] == 0 and "session_id" not in message, message
            inbound = route_message(message)
            if domain is None or inbound.domain == domain:
                out.append(inbound.body)
        return out

    def area(self, area_id: int = 1) -> dict[str, Any]:
        return self.ok("area", "get_status", {"area_id": area_id})

    def zone(self, zone_id: int) -> dict[str, Any]:
        return self.ok("zone", "get_status", {"zone_id": zone_id})
