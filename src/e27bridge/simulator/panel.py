"""The simulated panel's behaviour after the cleartext phase: pure, with time passed in.

``SimulatedPanel.handle`` checks one parsed request against the permission model (§10) and
hands it to the domain module that owns the command (``simulator/domains/``); state changes
queue seq-0 broadcasts. ``advance`` runs the timers of every domain. ``snapshot`` and
``restore`` carry what a real panel keeps across a power cycle (statefile.py writes it). No
sockets, no asyncio, no clock: the server owns those (docs/adr/0200-0249 record the choices
made where the protocol reference is unsure).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.protocol.messages import PanelRequest
from e27bridge.simulator.activity import ActivityGenerator
from e27bridge.simulator.config import SimulatorConfig
from e27bridge.simulator.domains.areas import Areas
from e27bridge.simulator.domains.barriers import Barriers
from e27bridge.simulator.domains.base import (
    ENTITY_DOMAINS,
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    SessionAuth,
    domain_error,
    refused_reply,
    root_error,
)
from e27bridge.simulator.domains.eventlog import EventLog
from e27bridge.simulator.domains.lights import Lights
from e27bridge.simulator.domains.locks import Locks
from e27bridge.simulator.domains.outputs import Outputs
from e27bridge.simulator.domains.permissions import CODE_COMMANDS, PERMISSIONS
from e27bridge.simulator.domains.security import Security
from e27bridge.simulator.domains.system import System
from e27bridge.simulator.domains.thermostats import Thermostats
from e27bridge.simulator.domains.zones import ZONE_STATES, Zones
from e27bridge.simulator.profiles import DEFINITION_BEHAVIOUR

__all__ = ["PERMISSIONS", "ZONE_STATES", "SessionAuth", "SimulatedPanel"]

# Keypad action -> the request a keypad's user causes (domain, command, fixed parameters).
KEYPAD_ACTIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "arm_away": ("area", "set_arm_state", {"arm_state": "ARMED_AWAY"}),
    "arm_stay": ("area", "set_arm_state", {"arm_state": "ARMED_STAY"}),
    "disarm": ("area", "set_arm_state", {"arm_state": "DISARMED"}),
    "bypass": ("zone", "set_status", {"BYPASSED": True}),
    "unbypass": ("zone", "set_status", {"BYPASSED": False}),
}
_FIXED_EPOCH = 1_717_243_200.0  # wall-clock origin when the caller gives none (2024-06-01)
STATE_VERSION = 1


class SimulatedPanel:
    """One panel's configuration and live state, answering requests from every session."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        now: float,
        rng: random.Random,
        wall_clock: Callable[[float], float] | None = None,
    ) -> None:
        self.config = config
        start = now
        core = Core(config, rng, wall_clock or (lambda t: _FIXED_EPOCH + (t - start)))
        self.core = core
        # Setup randomness comes from a stream of its own so request-time draws (busy replies,
        # numeric strings) never change the initial state a seed produces.
        setup = random.Random(config.seed if config.seed is not None else rng.getrandbits(64))
        self.log = EventLog(core)
        self.system = System(core, self.log)
        self.security = Security(core, self.system.table_csm)
        self.zones = Zones(core, self.log, self.security.check_pin, setup)
        self.areas = Areas(core, self.log, self.zones, self.security.check_pin)
        self.zones.areas = self.areas
        self.outputs = Outputs(core)
        self.lights = Lights(core)
        self.locks = Locks(core, self.log)
        self.tstats = Thermostats(core, setup)
        self.barriers = Barriers(core, self.log)
        self._persistent: dict[str, Any] = {
            "areas": self.areas,
            "zones": self.zones,
            "outputs": self.outputs,
            "lights": self.lights,
            "locks": self.locks,
            "tstats": self.tstats,
            "barriers": self.barriers,
            "log": self.log,
        }
        self._handlers: Handlers = {}
        for domain in (self.system, self.security, self.log, *self._persistent.values()):
            self._handlers.update(domain.handlers())
        self._counts: Counter[str] = Counter()
        # (domain, command, entity id or None) -> requests: which entity a client read or
        # wrote, so tests can count e.g. one zone's reads or that nothing was written.
        self.request_counts: Counter[tuple[str, str | None, int | None]] = Counter()
        self._activity = ActivityGenerator(
            config.activity, self._activity_zones(), random.Random(setup.getrandbits(64)), now
        )
        self.tstats.start(now)

    def _activity_zones(self) -> list[int]:
        include_24h = self.config.activity.include_life_safety
        out = []
        for zone in self.config.inventory.zones:
            behaviour = DEFINITION_BEHAVIOUR.get(zone.definition, "instant")
            if behaviour != "none" and (include_24h or behaviour != "24h"):
                out.append(zone.id)
        return out

    # ------------------------------------------------------------------ requests

    def handle(self, request: PanelRequest, auth: SessionAuth, now: float) -> Message:
        """Reply message for one request (seq placed per §8.2); state changes queue broadcasts."""
        domain, seq = request.domain, request.seq
        self._counts[domain] += 1
        entity = request.params.get(f"{domain}_id")
        key = entity if isinstance(entity, int) and not isinstance(entity, bool) else None
        self.request_counts[domain, request.command, key] += 1
        if (
            self.config.behaviour.check_session_id
            and request.session_id is not None
            and request.session_id != auth.session_id
        ):
            return root_error(seq, E.INVALID_SESSION)
        self.security.expire_privilege(auth, now)
        if domain == "authenticate":
            return self.security.authenticate(request, auth, now, nested=True)
        commands = PERMISSIONS.get(domain)
        if commands is None:
            return root_error(seq, E.UNRECOGNIZED_CMD)
        command = request.command or ""
        required = commands.get(command)
        if required is None:
            return domain_error(seq, domain, E.UNRECOGNIZED_CMD)
        refusal = self._permission_refusal(domain, command, required, auth, now)
        if refusal is not None:
            return domain_error(seq, domain, refusal)
        handler = self._handlers.get((domain, command))
        if handler is None:
            return domain_error(seq, domain, E.UNRECOGNIZED_CMD)
        call = Call(request, auth, now, request.params)
        try:
            return handler(call)
        except Refused as refused:
            return refused_reply(call, refused)

    def _permission_refusal(
        self, domain: str, command: str, required: int, auth: SessionAuth, now: float
    ) -> int | None:
        base = required - 4 if required > 4 else required
        if domain == "control" and command == "authenticate":
            base = 1  # authenticating is how a level-1 session gets a user level
        if self.config.behaviour.codes_need_authenticate and (domain, command) in CODE_COMMANDS:
            base = max(base, 2)
        if auth.level < base:
            return E.NOAUTH
        if required > 4 and self.areas.any_armed():
            return E.NOT_ALLOWED_WHEN_ARMED
        if base >= 2:
            self.security.extend_privilege(auth, now)
        return None

    # ------------------------------------------------------------------ timers

    def advance(self, now: float) -> None:
        """Run every timer due at ``now``."""
        self.areas.advance(now)
        self.barriers.advance(now)
        self.tstats.advance(now)
        self.core.release_delayed(now)
        for change in self._activity.poll(now):
            self.set_zone(change.zone_id, change.state, now)

    def next_deadline(self) -> float | None:
        """When ``advance`` next has work (None: nothing scheduled)."""
        times = [*self.areas.deadlines(), *self.barriers.deadlines(), *self.tstats.deadlines()]
        times.extend(due for due, _ in self.core.delayed)
        activity = self._activity.next_due()
        if activity is not None:
            times.append(activity)
        return min(times) if times else None

    def take_broadcasts(self) -> list[Message]:
        """Queued seq-0 messages (no session_id key; the server adds one per session if wanted)."""
        out, self.core.broadcasts = self.core.broadcasts, []
        return out

    # ------------------------------------------------------------------ control hooks

    def set_zone(self, zone_id: int, state: str, now: float) -> None:
        """Change a zone's physical condition (see ``ZONE_STATES``)."""
        self.zones.set_zone(zone_id, state, now)

    def trigger_alarm(self, area_id: int, zone_id: int | None, now: float) -> None:
        """Put an area in alarm (type from the zone's definition, else BURGLARY)."""
        self.areas.trigger_alarm(area_id, zone_id, now)

    def keypad(self, action: str, entity_id: int, pin: int, now: float) -> int:
        """A user at a keypad: ``KEYPAD_ACTIONS`` on an area (arm, disarm) or a zone
        (bypass), with the user's code; the panel's error code, 0 when done."""
        if action not in KEYPAD_ACTIONS:
            raise ValueError(f"keypad action must be one of {', '.join(KEYPAD_ACTIONS)}")
        domain, command, params = KEYPAD_ACTIONS[action]
        id_key = ENTITY_DOMAINS[domain][0]
        args = {id_key: entity_id, "pin": pin, **params}
        request = PanelRequest(0, None, domain, command, args)
        call = Call(request, SessionAuth(session_id=0), now, args)
        try:
            self._handlers[domain, command](call)
        except Refused as refused:
            return refused.code
        return 0

    def set_trouble(self, name: str, active: bool, now: float) -> None:
        """System trouble ``name``; ``bus:<id>`` / ``control:<x>`` go elsewhere."""
        self.system.set_trouble(name, active, now)

    def user1_pin(self) -> int | None:
        """User 1's code as the panel knows it now (a state file may have restored it)."""
        user = self.security.users.get(1)
        return None if user is None else user.pin

    def domain_counts(self) -> dict[str, int]:
        """Requests handled per domain (including refused ones), for stats."""
        return dict(self._counts)

    # ------------------------------------------------------------------ persistence

    def take_dirty(self) -> bool:
        """True once after anything a real panel keeps in non-volatile memory changed."""
        dirty, self.core.dirty = self.core.dirty, False
        return dirty

    def snapshot(self) -> dict[str, Any]:
        """What survives a power cycle: user codes, arm states, bypasses, devices, the log."""
        state = {name: domain.snapshot() for name, domain in self._persistent.items()}
        return {"version": STATE_VERSION, "users": self.security.snapshot(), **state}

    def restore(self, state: dict[str, Any], *, keep_user_codes: tuple[int, ...] = ()) -> None:
        """Load a ``snapshot``; raises ValueError (or KeyError/TypeError) if it does not fit."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version {state.get('version')!r}")
        self.security.restore(state.get("users", {}), keep=keep_user_codes)
        for name, domain in self._persistent.items():
            if name in state:
                domain.restore(state[name])
        for area_id in self.areas.states:
            self.areas.zones_changed(area_id, 0.0)
        self.core.broadcasts.clear()
        self.core.dirty = False
