"""The simulated panel's behaviour after the cleartext phase: pure, with time passed in.

``SimulatedPanel.handle`` answers one parsed request in the reply shapes of protocol §8.2,
applies the permission model of §10, and queues seq-0 broadcasts (in the ``get_status``
shape of the domain) for every state change. ``advance`` runs the timers: exit and entry
delays, barrier travel, delayed Z-Wave reports and the activity generator. No sockets, no
asyncio, no clock: the server owns those (docs/adr/0200-0249 record the choices made where
the protocol reference is unsure).
"""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.protocol.messages import PanelRequest
from e27bridge.simulator.activity import ActivityGenerator
from e27bridge.simulator.config import (
    DEFINITION_ALARM,
    DEFINITION_BEHAVIOUR,
    SimulatorConfig,
    User,
)

_log = structlog.get_logger(__name__)

DISARMED = "DISARMED"
ARMED_AWAY = "ARMED_AWAY"
ARMED_STAY = "ARMED_STAY"
ARM_STATES = (DISARMED, ARMED_AWAY, ARMED_STAY)
NO_ALARM = "NO_ALARM_ACTIVE"
ZONE_STATES = (
    "open",
    "closed",
    "trouble",
    "trouble_restore",
    "tamper",
    "tamper_restore",
    "low_battery",
    "battery_ok",
    "normal",
)
_FIXED_EPOCH = 1_717_243_200.0  # wall-clock origin when the caller gives none (2024-06-01)

# --------------------------------------------------------------------------- permissions
# Required level per command (vector ``permission_levels``), wire domain names. Levels 5..8
# are the ``_DISARMED`` variants of 1..4.
_PERMISSION_TEXT = """
area 1 get_attribs get_bypassed_zones get_configured get_def_flags get_status get_table_info
area 1 get_troubles get_trouble get_unsecure_zones get_num_not_rdy_zones set_alarm_state
area 1 set_arm_state set_status
area 7 alarm_test
area 8 del_attribs realloc set_attribs
barrier 1 get_attribs get_configured get_status get_table_info set_status
barrier 8 del_attribs set_attribs
bus_io_dev 1 get_attribs get_configured get_dev_error_counts get_error_counts get_table_info
bus_io_dev 1 get_trouble get_version_info
bus_io_dev 8 change_id del_attribs fill_default realloc set_attribs set_sn start_discovery
bus_io_dev 8 stop_discovery
cell 1 get_attribs get_table_info
cell 8 default set_attribs
control 1 get_factory_attribs get_ssp_version_info get_system_time get_table_alloc_info
control 1 get_table_info get_trouble get_version_info silence_trouble authenticate
control 3 set_system_time
control 4 backup set_factory_attribs test_realloc
control 8 default load_default restore
cs_param 1 get_attribs get_configured get_cs_paths get_def_flags get_table_info get_trouble
cs_param 8 commtest del_attribs set_attribs set_cs_paths
flag 1 get_attribs get_configured get_table_info
flag 7 del_attribs set_attribs
keyfob 1 get_attribs get_configured get_table_info get_trouble
keyfob 8 change_id default del_attribs set_attribs
keypad 1 get_attribs get_configured get_def_flags get_table_info get_version_info
keypad 8 change_id del_attribs set_attribs
light 1 get_attribs get_configured get_status get_table_info set_status
light 8 del_attribs set_attribs
lock 1 get_attribs get_configured get_status get_table_info set_status
lock 7 get_user_code set_user_code
lock 8 del_attribs set_attribs
log 1 get_attribs get_index get_list get_log get_table_info get_trouble
log 8 clear realloc set_attribs
net_dev 1 get_attribs get_list get_table_info
net_dev 2 logout
net_dev 4 get_creds
net_dev 8 default del_attribs set_attribs set_creds link
network 1 get_table_info get_rssi
network 4 get_attribs get_ssid set_attribs restart
output 1 get_all_outputs_status get_attribs get_available get_configured get_status
output 1 get_table_info refresh_status set_status
output 8 del_attribs realloc set_attribs
register 1 get_attribs get_configured get_table_info
register 7 del_attribs set_attribs
repeater 1 get_attribs get_configured get_table_info
repeater 8 del_attribs realloc set_attribs
rule 1 get_rules get_storage_size get_table_info get_trouble process
rule 8 realloc set_rules
system 1 get_attribs get_cutoffs get_sounders get_system_time get_table_info get_trouble
system 1 get_troubles get_update r_u_alive
system 4 file_info get_debug_flags get_debug_string set_debug_flags
system 5 reset_smokes
system 7 set_system_time
system 8 reconfig set_attribs set_cutoffs set_run set_system_key start_updt
task 1 activate get_attribs get_configured get_table_info
task 8 del_attribs set_attribs
template 4 get_configured
timer 1 get_attribs get_configured get_table_info
timer 7 del_attribs set_attribs
tstat 1 get_attribs get_configured get_status get_table_info set_status
tstat 8 del_attribs realloc set_attribs
user 1 get_configured get_table_info
user 2 get_attribs
user 7 del_attribs get_def_flags set_attribs
user 8 realloc
user_value 1 get_attribs get_configured get_table_info
user_value 7 set_attribs
user_value 8 del_attribs realloc
usergroup 1 get_attribs get_configured get_table_info
usergroup 7 del_attribs set_attribs
wiegand 1 get_attribs get_configured get_table_info
wiegand 7 del_attribs set_attribs
wiegand 8 realloc
win_cover 1 get_attribs get_configured get_status get_table_info set_status
win_cover 8 del_attribs realloc set_attribs
wltx 1 get_attribs get_configured get_table_info get_trouble get_version_info
wltx 8 change_id default del_attribs realloc set_attribs start_discovery stop_discovery
zone 1 get_all_zones_status get_attribs get_available get_configured get_def_flags get_defs
zone 1 get_status get_table_info pwr_get_trouble set_status
zone 8 default del_attribs fill_default realloc set_attribs
zwave 1 get_attribs get_battery get_configured get_mfr get_node_info get_route_info get_rssi
zwave 1 get_secure_node_info get_supported_sensor get_table_info get_trouble
zwave 2 set_scene
zwave 7 heal_node restart
zwave 8 abort assign_return_route clear default exclusion inclusion rem_failed set_assoc
zwave 8 set_attribs set_config
"""


def _parse_permissions(text: str) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for line in text.strip().splitlines():
        domain, level, *commands = line.split()
        for command in commands:
            table.setdefault(domain, {})[command] = int(level)
    return table


PERMISSIONS: dict[str, dict[str, int]] = _parse_permissions(_PERMISSION_TEXT)
# Commands that carry a user code (arm/disarm, bypass).
_CODE_COMMANDS = frozenset({("area", "set_arm_state"), ("zone", "set_status")})

_ERROR_TEXT: dict[int, str] = {
    E.UNRECOGNIZED_CMD: "unrecognized command",
    E.INVALID_PARAM: "invalid parameter",
    E.INVALID_ID: "invalid_id",
    E.NOAUTH: "no authorization",
    E.NOT_READY: "not ready",
    E.INVALID_MODE: "invalid mode",
    E.NOT_BYPASSABLE: "not bypassable",
    E.IN_ALARM: "in alarm",
    E.NOT_ALLOWED_WHEN_ARMED: "not allowed when armed",
    E.INVALID_SESSION: "invalid session",
    E.INVALID_PIN: "invalid pin",
    E.ZWAVE_BUSY: "zwave busy",
}

# Domain -> (id key, plural key of get_configured, inventory attribute).
_ENTITY_DOMAINS: dict[str, tuple[str, str]] = {
    "area": ("area_id", "areas"),
    "zone": ("zone_id", "zones"),
    "output": ("output_id", "outputs"),
    "light": ("light_id", "lights"),
    "lock": ("lock_id", "locks"),
    "tstat": ("tstat_id", "tstats"),
    "barrier": ("barrier_id", "barriers"),
    "keypad": ("keypad_id", "keypads"),
    "user": ("user_id", "users"),
}
_CSM_DOMAINS: tuple[str, ...] = (
    "network",
    "area",
    "user_group",
    "user",
    "zone",
    "keyfob",
    "system",
    "wltx",
    "output",
    "cs_param",
    "flag",
    "pir_flag",
    "user_value",
    "register",
    "rule",
    "task",
    "light",
    "lock",
    "tstat",
    "barrier",
    "win_cover",
    "timer",
    "zwave",
    "bus_io_dev",
    "keypad",
    "wgnd",
    "sounder",
    "repeater",
)


# --------------------------------------------------------------------------- public types


@dataclass
class SessionAuth:
    """Authorisation context of one live session; owned by the server, mutated by the panel."""

    session_id: int
    level: int = 1  # permission level (1 = encryption key only)
    user_id: int | None = None
    privilege_until: float = 0.0


class _Refused(Exception):
    """A command refused with a panel error code (reply form A, ids kept in the body)."""

    def __init__(self, code: int, body: dict[str, Any] | None = None) -> None:
        super().__init__(code)
        self.code = int(code)
        self.body = body or {}


# --------------------------------------------------------------------------- live state


@dataclass
class _AreaState:
    name: str
    arm_state: str = DISARMED
    target: str = DISARMED  # arm_cmd_state
    delay: str | None = None  # "exit" | "entry"
    delay_until: float = 0.0
    delay_zone: int | None = None
    next_tick: float = math.inf  # next ee_timer countdown broadcast
    alarm_state: str = NO_ALARM
    alarm_zone: int | None = None
    chime: bool = False
    ready: str = "RDY_AWAY"
    troubles: tuple[str, ...] = ()


@dataclass
class _ZoneState:
    violated: bool = False
    trouble: bool = False
    tamper: bool = False
    low_batt: bool = False
    bypassed: bool = False
    rssi: int | None = None


@dataclass
class _TstatState:
    temperature: float
    mode: str
    fan_mode: str
    heat: int
    cool: int
    humidity: int
    battery: int
    rssi: int


@dataclass
class _BarrierState:
    status: str = "CLOSED"
    moving_until: float = 0.0
    target: str = ""


@dataclass(frozen=True, slots=True)
class _LogEntry:
    log_id: int
    time: int
    text: str


@dataclass
class _Call:
    request: PanelRequest
    auth: SessionAuth
    now: float
    params: dict[str, Any] = field(repr=False)

    @property
    def domain(self) -> str:
        return self.request.domain

    @property
    def command(self) -> str:
        return self.request.command or ""


Handler = Callable[[_Call], dict[str, Any]]


# --------------------------------------------------------------------------- helpers


def _int_param(params: dict[str, Any], key: str) -> int:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(E.INVALID_PARAM)
    return value


def _intish(value: Any) -> int | None:
    """An int or a numeric string (liberal receiving for paging fields)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _csm(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode()) & 0xFFFF


# --------------------------------------------------------------------------- the panel


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
        self._rng = rng
        self._start = now
        self._wall = wall_clock or (lambda t: _FIXED_EPOCH + (t - self._start))
        inv = config.inventory
        self._inv = inv
        self._users_by_pin: dict[int, User] = {u.pin: u for u in inv.users}
        self._zone_cfg = {z.id: z for z in inv.zones}
        self._areas: dict[int, _AreaState] = {a.id: _AreaState(a.name) for a in inv.areas}
        # Setup randomness comes from a stream of its own so request-time draws (busy replies,
        # numeric strings) never change the initial state a seed produces.
        seed = config.seed if config.seed is not None else rng.getrandbits(64)
        setup = random.Random(seed)
        self._zones: dict[int, _ZoneState] = {}
        for zone in inv.zones:
            rssi = -setup.randint(40, 85) if zone.wireless else None
            self._zones[zone.id] = _ZoneState(rssi=rssi)
        for zone_id in config.initial.open_zones:
            self._zones[zone_id].violated = True
        self._outputs: dict[int, bool] = {o.id: False for o in inv.outputs}
        self._lights: dict[int, int] = {light.id: 0 for light in inv.lights}
        self._light_last: dict[int, int] = {light.id: 99 for light in inv.lights}
        self._dimmable = {light.id: light.dimmable for light in inv.lights}
        self._locks: dict[int, bool] = {lock.id: True for lock in inv.locks}
        self._tstats: dict[int, _TstatState] = {
            t.id: self._initial_tstat(setup) for t in inv.tstats
        }
        self._barriers: dict[int, _BarrierState] = {b.id: _BarrierState() for b in inv.barriers}
        self._barrier_seen: dict[tuple[int, int], dict[str, Any]] = {}
        self._troubles: list[str] = list(config.initial.troubles)
        self._control_troubles: list[str] = []
        self._bus_missing: list[str] = list(config.initial.bus_missing)
        self._log: deque[_LogEntry] = deque(maxlen=inv.log_capacity)
        self._log_next_id = 1
        self._broadcasts: list[dict[str, Any]] = []
        self._delayed: list[tuple[float, dict[str, Any]]] = []
        self._counts: Counter[str] = Counter()
        self._table_csm: dict[str, int] = self._compute_csms()
        activity_rng = random.Random(setup.getrandbits(64))
        candidates = [
            z.id
            for z in inv.zones
            if DEFINITION_BEHAVIOUR.get(z.definition, "instant") != "none"
            and (
                config.activity.include_life_safety
                or DEFINITION_BEHAVIOUR.get(z.definition, "instant") != "24h"
            )
        ]
        self._activity = ActivityGenerator(config.activity, candidates, activity_rng, now)
        for area_id in self._areas:
            self._areas[area_id].ready = self._ready_status(area_id)
            self._areas[area_id].troubles = self._area_troubles(area_id)
        self._handlers = self._build_handlers()

    # ------------------------------------------------------------------ public interface

    def handle(self, request: PanelRequest, auth: SessionAuth, now: float) -> dict[str, Any]:
        """Reply message for one request (seq placed per §8.2); state changes queue broadcasts."""
        domain = request.domain
        self._counts[domain] += 1
        seq = request.seq
        if (
            self.config.behaviour.check_session_id
            and request.session_id is not None
            and request.session_id != auth.session_id
        ):
            return self._root_error(seq, E.INVALID_SESSION)
        self._expire_privilege(auth, now)
        if domain == "authenticate":
            return self._authenticate(request, auth, now, nested=True)
        commands = PERMISSIONS.get(domain)
        if commands is None:
            return self._root_error(seq, E.UNRECOGNIZED_CMD)
        command = request.command or ""
        required = commands.get(command)
        if required is None:
            return self._domain_error(seq, domain, E.UNRECOGNIZED_CMD)
        base = required - 4 if required > 4 else required
        if domain == "control" and command == "authenticate":
            base = 1  # authenticating is how a level-1 session gets a user level
        if self.config.behaviour.codes_need_authenticate and (domain, command) in _CODE_COMMANDS:
            base = max(base, 2)
        if auth.level < base:
            return self._domain_error(seq, domain, E.NOAUTH)
        if required > 4 and self._any_armed():
            return self._domain_error(seq, domain, E.NOT_ALLOWED_WHEN_ARMED)
        if base >= 2:
            auth.privilege_until = now + self._scaled(self.config.timings.privilege_window)
        handler = self._handlers.get((domain, command))
        if handler is None:
            return self._domain_error(seq, domain, E.UNRECOGNIZED_CMD)
        call = _Call(request, auth, now, request.params)
        try:
            return handler(call)
        except _Refused as refused:
            body = {**refused.body, "error_code": refused.code}
            if refused.code in _ERROR_TEXT:
                body["error_message"] = _ERROR_TEXT[refused.code]
            return {"seq": seq, domain: {command: body}}

    def advance(self, now: float) -> None:
        """Run every timer due at ``now``."""
        for area_id, area in self._areas.items():
            if area.delay is not None and area.delay_until <= now:
                if area.delay == "exit":
                    self._finish_exit_delay(area_id, now)
                else:
                    self._entry_delay_expired(area_id, now)
            elif area.delay is not None and area.next_tick <= now:
                step = self._scaled(self.config.timings.countdown_interval)
                while area.next_tick <= now:
                    area.next_tick += step
                self._area_broadcast(area_id, now)
        for barrier_id, barrier in self._barriers.items():
            if barrier.target and barrier.moving_until <= now:
                barrier.status = barrier.target
                barrier.target = ""
                self._broadcast("barrier", self._barrier_status(barrier_id))
        if self._delayed:
            due = [item for item in self._delayed if item[0] <= now]
            if due:
                self._delayed = [item for item in self._delayed if item[0] > now]
                self._broadcasts.extend(message for _, message in due)
        for change in self._activity.poll(now):
            self.set_zone(change.zone_id, change.state, now)

    def next_deadline(self) -> float | None:
        """When ``advance`` next has work (None: nothing scheduled)."""
        times = [
            min(a.delay_until, a.next_tick) for a in self._areas.values() if a.delay is not None
        ]
        times.extend(b.moving_until for b in self._barriers.values() if b.target)
        times.extend(due for due, _ in self._delayed)
        activity = self._activity.next_due()
        if activity is not None:
            times.append(activity)
        return min(times) if times else None

    def take_broadcasts(self) -> list[dict[str, Any]]:
        """Queued seq-0 messages (no session_id key; the server adds one per session if wanted)."""
        out, self._broadcasts = self._broadcasts, []
        return out

    def set_zone(self, zone_id: int, state: str, now: float) -> None:
        """Control hook: change a zone's physical condition (see ``ZONE_STATES``)."""
        if zone_id not in self._zones:
            raise ValueError(f"zone {zone_id} is not configured")
        if state not in ZONE_STATES:
            raise ValueError(f"zone state must be one of {', '.join(ZONE_STATES)}")
        zone = self._zones[zone_id]
        was_violated = zone.violated
        was_tamper = zone.tamper
        before = (zone.violated, zone.trouble, zone.tamper, zone.low_batt)
        if state == "open":
            zone.violated = True
        elif state == "closed":
            zone.violated = False
        elif state in ("trouble", "trouble_restore"):
            zone.trouble = state == "trouble"
        elif state in ("tamper", "tamper_restore"):
            zone.tamper = state == "tamper"
        elif state in ("low_battery", "battery_ok"):
            zone.low_batt = state == "low_battery"
        else:  # normal
            zone.violated = zone.trouble = zone.tamper = zone.low_batt = False
        if (zone.violated, zone.trouble, zone.tamper, zone.low_batt) == before:
            return
        self._broadcast("zone", self._zone_status(zone_id))
        area_id = self._zone_cfg[zone_id].area_id
        if zone.trouble != before[1] or zone.tamper != was_tamper or zone.low_batt != before[3]:
            self._log_event(now, f"Zone {zone_id} {state.replace('_', ' ')}")
        self._refresh_area(area_id, now)
        if (zone.violated and not was_violated) or (zone.tamper and not was_tamper):
            self._zone_violated(zone_id, now)

    def trigger_alarm(self, area_id: int, zone_id: int | None, now: float) -> None:
        """Control hook: put an area in alarm (type from the zone's definition, else BURGLARY)."""
        if area_id not in self._areas:
            raise ValueError(f"area {area_id} is not configured")
        if zone_id is not None and zone_id not in self._zones:
            raise ValueError(f"zone {zone_id} is not configured")
        kind = "BURGLARY"
        if zone_id is not None:
            kind = self._alarm_kind(zone_id)
        self._start_alarm(area_id, zone_id, kind, now)

    def set_trouble(self, name: str, active: bool, now: float) -> None:
        """Control hook: system trouble ``name``; ``bus:<id>`` / ``control:<x>`` go elsewhere."""
        if not name.strip():
            raise ValueError("trouble name must not be empty")
        if name.startswith("bus:"):
            target, domain, command = self._bus_missing, "bus_io_dev", "get_trouble"
            item = name[4:]
        elif name.startswith("control:"):
            target, domain, command = self._control_troubles, "control", "get_trouble"
            item = name[8:]
        else:
            target, domain, command = self._troubles, "system", "get_trouble"
            item = name
        if active == (item in target):
            return
        if active:
            target.append(item)
        else:
            target.remove(item)
        self._log_event(now, f"Trouble {item} {'active' if active else 'restored'}")
        body = self._trouble_body(domain)
        self._broadcasts.append({"seq": 0, domain: {command: {**body, "error_code": 0}}})

    def domain_counts(self) -> dict[str, int]:
        """Requests handled per domain (including refused ones), for stats."""
        return dict(self._counts)

    # ------------------------------------------------------------------ reply forms

    @staticmethod
    def _ok(call: _Call, body: dict[str, Any], command: str | None = None) -> dict[str, Any]:
        return {
            "seq": call.request.seq,
            call.domain: {command or call.command: {**body, "error_code": 0}},
        }

    @staticmethod
    def _domain_error(seq: int, domain: str, code: int) -> dict[str, Any]:
        return {"seq": seq, domain: {"error_code": int(code), "error_message": _ERROR_TEXT[code]}}

    @staticmethod
    def _root_error(seq: int, code: int) -> dict[str, Any]:
        return {"seq": seq, "error_code": int(code), "error_message": _ERROR_TEXT[code]}

    def _broadcast(self, domain: str, body: dict[str, Any], command: str = "get_status") -> None:
        self._broadcasts.append({"seq": 0, domain: {command: {**body, "error_code": 0}}})

    def _zwave_report(self, domain: str, body: dict[str, Any], now: float) -> None:
        delay = self._scaled(self.config.timings.zwave_report_delay)
        message = {"seq": 0, domain: {"get_status": {**body, "error_code": 0}}}
        if delay > 0:
            self._delayed.append((now + delay, message))
        else:
            self._broadcasts.append(message)

    # ------------------------------------------------------------------ time and auth

    def _scaled(self, panel_seconds: float) -> float:
        return self.config.timings.scaled(panel_seconds)

    def _panel_seconds_left(self, until: float, now: float) -> int:
        return max(0, math.ceil((until - now) * self.config.timings.time_scale - 1e-9))

    @staticmethod
    def _expire_privilege(auth: SessionAuth, now: float) -> None:
        if auth.level > 1 and now >= auth.privilege_until:
            auth.level = 1
            auth.user_id = None

    def _authenticate(
        self, request: PanelRequest, auth: SessionAuth, now: float, *, nested: bool
    ) -> dict[str, Any]:
        params = request.params
        pin = params.get("pin")
        user: User | None = None
        if isinstance(pin, str) or pin is None:
            code = int(E.NOAUTH)
        elif isinstance(pin, bool) or not isinstance(pin, int):
            code = int(E.INVALID_PARAM)
        else:
            user = self._users_by_pin.get(pin)
            code = 0 if user is not None else self.config.behaviour.auth_fail_code
        body: dict[str, Any]
        if user is None:
            body = {"error_code": code}
            if code in _ERROR_TEXT:
                body["error_message"] = _ERROR_TEXT[code]
        else:
            new_id = auth.session_id
            while new_id in (auth.session_id, 0):
                new_id = self._rng.randrange(1, 2**31)
            auth.session_id = new_id
            auth.level = user.level
            auth.user_id = user.id
            auth.privilege_until = now + self._scaled(self.config.timings.privilege_window)
            body = {
                "session_id": new_id,
                "installer": user.installer,
                "user_id": user.id,
                "group_id": user.group_id,
                **{f"{d}_csm": self._domain_csm(d) for d in _CSM_DOMAINS},
                "error_code": 0,
            }
        if nested:
            return {"authenticate": {"seq": request.seq, **body}}
        return {"seq": request.seq, "control": {"authenticate": body}}

    def _check_pin(self, call: _Call, area_ids: tuple[int, ...], body: dict[str, Any]) -> User:
        """The user whose code is in the command, or the session's user; 11004 if wrong."""
        pin = call.params.get("pin")
        if isinstance(pin, str):
            raise _Refused(E.NOAUTH, body)
        if pin is None:
            user = next((u for u in self._inv.users if u.id == call.auth.user_id), None)
            if user is None or call.auth.level < 2:
                raise _Refused(E.NOAUTH, body)
        elif isinstance(pin, bool) or not isinstance(pin, int):
            raise _Refused(E.INVALID_PARAM, body)
        else:
            found = self._users_by_pin.get(pin)
            if found is None:
                raise _Refused(E.INVALID_PARAM, body)
            user = found
        if user.areas and not all(a in user.areas for a in area_ids):
            raise _Refused(E.INVALID_PARAM, body)
        return user

    # ------------------------------------------------------------------ tables

    def _items(self, domain: str) -> list[int]:
        groups: dict[str, Any] = {
            "area": self._inv.areas,
            "zone": self._inv.zones,
            "output": self._inv.outputs,
            "light": self._inv.lights,
            "lock": self._inv.locks,
            "tstat": self._inv.tstats,
            "barrier": self._inv.barriers,
            "keypad": self._inv.keypads,
            "user": self._inv.users,
        }
        return sorted(item.id for item in groups[domain])

    def _compute_csms(self) -> dict[str, int]:
        inv = self._inv
        sources: dict[str, Any] = {
            "area": inv.areas,
            "zone": (inv.zones, inv.definitions),
            "output": inv.outputs,
            "light": inv.lights,
            "lock": inv.locks,
            "tstat": inv.tstats,
            "barrier": inv.barriers,
            "keypad": inv.keypads,
            "user": tuple((u.id, u.name, u.group_id, u.level, u.areas) for u in inv.users),
            "rule": inv.rules,
            "log": inv.log_capacity,
            "system": self.config.identity.name,
        }
        return {domain: _csm(domain, value) for domain, value in sources.items()}

    def _domain_csm(self, domain: str) -> int:
        return self._table_csm.get(domain) or _csm(domain)

    def _table_info(self, call: _Call) -> dict[str, Any]:
        domain = call.domain
        if domain == "log":
            elements = self._inv.log_capacity
        elif domain in _ENTITY_DOMAINS:
            elements = self._inv.table_size(domain)
        elif domain == "rule":
            elements = max(self._inv.rules, 1)
        else:
            elements = 1
        element_size = {"zone": 64, "user": 48, "log": 32}.get(domain, 40)
        body = {
            "table_csm": self._domain_csm(domain),
            "table_elements": elements,
            "tablesize": elements * element_size,
            "increment_size": 1,
            "element_size": element_size,
        }
        return self._ok(call, body)

    def _block(self, call: _Call, total_items: int, first: int = 1) -> tuple[int, int]:
        """(block_id, block_count) for a paged request; 11006 beyond the range."""
        size = self.config.behaviour.block_size
        count = max(1, math.ceil(total_items / size))
        raw = call.params.get("block_id", first)
        block_id = _intish(raw)
        if block_id is None:
            raise _Refused(E.INVALID_PARAM)
        if not first <= block_id <= count:
            raise _Refused(E.INVALID_ID, {"block_id": block_id, "block_count": count})
        return block_id, count

    def _block_fields(self, block_id: int, count: int) -> dict[str, Any]:
        if self._rng.random() < self.config.behaviour.numeric_string_blocks:
            return {"block_id": str(block_id), "block_count": str(count)}
        return {"block_id": block_id, "block_count": count}

    def _get_configured(self, call: _Call) -> dict[str, Any]:
        ids = self._items(call.domain)
        block_id, count = self._block(call, len(ids))
        size = self.config.behaviour.block_size
        chunk = ids[(block_id - 1) * size : block_id * size]
        plural = _ENTITY_DOMAINS[call.domain][1]
        return self._ok(call, {**self._block_fields(block_id, count), plural: chunk})

    def _entity_id(self, call: _Call, known: dict[int, Any] | set[int]) -> int:
        key = _ENTITY_DOMAINS[call.domain][0]
        entity_id = _int_param(call.params, key)
        if entity_id not in known:
            raise _Refused(E.INVALID_ID, {key: entity_id})
        return entity_id

    # ------------------------------------------------------------------ handlers table

    def _build_handlers(self) -> dict[tuple[str, str], Handler]:
        h: dict[tuple[str, str], Handler] = {}
        for domain in _ENTITY_DOMAINS:
            h[(domain, "get_table_info")] = self._table_info
            h[(domain, "get_configured")] = self._get_configured
        for domain in ("log", "system", "rule", "network", "control", "bus_io_dev"):
            h[(domain, "get_table_info")] = self._table_info
        h.update(
            {
                ("area", "get_attribs"): self._area_attribs,
                ("area", "get_status"): self._area_get_status,
                ("area", "set_status"): self._area_set_status,
                ("area", "set_arm_state"): self._area_set_arm_state,
                ("area", "get_troubles"): self._area_get_troubles,
                ("area", "get_trouble"): self._area_get_troubles,
                ("area", "set_alarm_state"): self._area_set_alarm_state,
                ("area", "get_bypassed_zones"): self._area_zone_list,
                ("area", "get_unsecure_zones"): self._area_zone_list,
                ("area", "get_num_not_rdy_zones"): self._area_not_ready_count,
                ("zone", "get_attribs"): self._zone_attribs,
                ("zone", "get_status"): self._zone_get_status,
                ("zone", "set_status"): self._zone_set_status,
                ("zone", "get_all_zones_status"): self._zone_bulk,
                ("zone", "get_defs"): self._zone_defs,
                ("zone", "get_def_flags"): self._zone_def_flags,
                ("output", "get_attribs"): self._output_attribs,
                ("output", "get_status"): self._output_get_status,
                ("output", "set_status"): self._output_set_status,
                ("output", "get_all_outputs_status"): self._output_bulk,
                ("light", "get_attribs"): self._simple_attribs,
                ("light", "get_status"): self._light_get_status,
                ("light", "set_status"): self._light_set_status,
                ("lock", "get_attribs"): self._simple_attribs,
                ("lock", "get_status"): self._lock_get_status,
                ("lock", "set_status"): self._lock_set_status,
                ("tstat", "get_attribs"): self._simple_attribs,
                ("tstat", "get_status"): self._tstat_get_status,
                ("tstat", "set_status"): self._tstat_set_status,
                ("barrier", "get_attribs"): self._simple_attribs,
                ("barrier", "get_status"): self._barrier_get_status,
                ("barrier", "set_status"): self._barrier_set_status,
                ("keypad", "get_attribs"): self._keypad_attribs,
                ("user", "get_attribs"): self._user_attribs,
                ("control", "get_version_info"): self._version_info,
                ("control", "get_trouble"): self._trouble_reply,
                ("control", "authenticate"): self._control_authenticate,
                ("system", "r_u_alive"): lambda c: self._ok(c, {}),
                ("system", "get_trouble"): self._trouble_reply,
                ("system", "get_troubles"): self._trouble_reply,
                ("system", "get_attribs"): self._system_attribs,
                ("system", "get_system_time"): self._system_time,
                ("network", "get_rssi"): lambda c: self._ok(c, {"rssi": -52}),
                ("network", "get_ssid"): self._network_ssid,
                ("bus_io_dev", "get_trouble"): self._trouble_reply,
                ("log", "get_index"): self._log_index,
                ("log", "get_list"): self._log_list,
                ("log", "get_log"): self._log_get,
                ("log", "get_trouble"): self._log_trouble,
                ("log", "get_attribs"): self._log_attribs,
                ("rule", "get_rules"): self._rules,
            }
        )
        return h

    # ------------------------------------------------------------------ area

    def _any_armed(self) -> bool:
        return any(a.arm_state != DISARMED or a.delay == "exit" for a in self._areas.values())

    def _area_status(self, area_id: int, now: float) -> dict[str, Any]:
        area = self._areas[area_id]
        timer = 0
        if area.delay is not None:
            timer = self._panel_seconds_left(area.delay_until, now)
        zone_ids = [z.id for z in self._inv.zones if z.area_id == area_id]
        return {
            "area_id": area_id,
            "arm_state": area.arm_state,
            "arm_cmd_state": area.target,
            "ready_status": area.ready,
            "alarm_state": area.alarm_state,
            "alarm_zone": "" if area.alarm_zone is None else str(area.alarm_zone),
            "ee_timer": timer,
            "zones_bypassed": sum(1 for z in zone_ids if self._zones[z].bypassed),
            "Chime": area.chime,
            "chime_count": 0,
            "troubles": list(area.troubles),
        }

    def _area_broadcast(self, area_id: int, now: float) -> None:
        self._broadcast("area", self._area_status(area_id, now))

    def _area_attribs(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        timings = self.config.timings
        return self._ok(
            call,
            {
                "area_id": area_id,
                "name": self._areas[area_id].name,
                "flags": [],
                "kp_single_key_arm": False,
                "entry1_time": int(timings.entry_delay),
                "exit_time": int(timings.exit_delay),
                "ext_entry_time": int(timings.entry_delay) * 2,
                "aa_warn_mins": 0,
                "auto_arm_time": 0,
                "auto_arm_level": 0,
                "sounder": 1,
            },
        )

    def _area_get_status(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        return self._ok(call, self._area_status(area_id, call.now))

    def _area_set_status(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        chime = call.params.get("Chime")
        if not isinstance(chime, bool):
            raise _Refused(E.INVALID_PARAM, {"area_id": area_id})
        area = self._areas[area_id]
        if area.chime != chime:
            area.chime = chime
            self._area_broadcast(area_id, call.now)
        return self._ok(call, {"area_id": area_id})

    def _area_set_arm_state(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        ids = {"area_id": area_id}
        raw_state = call.params.get("arm_state")
        target = raw_state.upper() if isinstance(raw_state, str) else None
        if target not in ARM_STATES:
            raise _Refused(E.INVALID_PARAM, ids)
        user = self._check_pin(call, (area_id,), ids)
        area = self._areas[area_id]
        now = call.now
        if target == DISARMED:
            self._disarm(area_id, user, now)
            return self._ok(call, ids)
        if area.alarm_state != NO_ALARM:
            raise _Refused(E.IN_ALARM, ids)
        if area.arm_state == target or (area.delay == "exit" and area.target == target):
            return self._ok(call, ids)
        if area.arm_state == DISARMED and area.delay is None:
            needed = ("RDY_AWAY",) if target == ARMED_AWAY else ("RDY_AWAY", "RDY_STAY")
            if area.ready not in needed:
                raise _Refused(E.NOT_READY, ids)
        exit_delay = self._scaled(self.config.timings.exit_delay)
        skip_delay = call.params.get("exit_delay_cancel") is True or exit_delay <= 0
        self._log_event(now, f"Area {area_id} {target.lower().replace('_', ' ')} by user {user.id}")
        if area.arm_state != DISARMED or skip_delay:
            area.delay = None
            self._arm(area_id, target, now)
        else:
            area.target = target
            self._start_delay(area, "exit", self.config.timings.exit_delay, now)
            self._area_broadcast(area_id, now)
        return self._ok(call, ids)

    def _start_delay(self, area: _AreaState, kind: str, panel_seconds: float, now: float) -> None:
        area.delay = kind
        area.delay_until = now + self._scaled(panel_seconds)
        interval = self.config.timings.countdown_interval
        area.next_tick = now + self._scaled(interval) if interval > 0 else math.inf

    def _arm(self, area_id: int, target: str, now: float) -> None:
        area = self._areas[area_id]
        area.arm_state = target
        area.target = target
        area.delay = None
        self._log_event(now, f"Area {area_id} armed {target.split('_')[1].lower()}")
        area.ready = self._ready_status(area_id)
        self._area_broadcast(area_id, now)
        # Zones left open at the end of the exit delay count as violated now.
        for zone in self._inv.zones:
            if zone.area_id == area_id and self._zones[zone.id].violated:
                self._zone_violated(zone.id, now)

    def _finish_exit_delay(self, area_id: int, now: float) -> None:
        self._arm(area_id, self._areas[area_id].target, now)

    def _disarm(self, area_id: int, user: User, now: float) -> None:
        area = self._areas[area_id]
        changed = (
            area.arm_state != DISARMED
            or area.delay is not None
            or area.alarm_state != NO_ALARM
            or area.target != DISARMED
        )
        area.arm_state = DISARMED
        area.target = DISARMED
        area.delay = None
        area.delay_zone = None
        area.alarm_state = NO_ALARM
        area.alarm_zone = None
        if changed:
            self._log_event(now, f"Area {area_id} disarmed by user {user.id}")
            area.ready = self._ready_status(area_id)
            self._area_broadcast(area_id, now)

    def _area_get_troubles(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        return self._ok(call, {"area_id": area_id, "troubles": list(self._areas[area_id].troubles)})

    def _area_set_alarm_state(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        event = call.params.get("alarm_event")
        if not isinstance(event, str) or not event.strip():
            raise _Refused(E.INVALID_PARAM, {"area_id": area_id})
        self._start_alarm(area_id, None, event.upper(), call.now)
        return self._ok(call, {"area_id": area_id}, command="set_status")

    def _area_zone_list(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        bypassed = call.command == "get_bypassed_zones"
        zones = [
            z.id
            for z in self._inv.zones
            if z.area_id == area_id
            and (
                self._zones[z.id].bypassed
                if bypassed
                else self._zones[z.id].violated and not self._zones[z.id].bypassed
            )
        ]
        return self._ok(call, {"area_id": area_id, "zones": zones})

    def _area_not_ready_count(self, call: _Call) -> dict[str, Any]:
        area_id = self._entity_id(call, self._areas)
        count = sum(1 for z in self._inv.zones if z.area_id == area_id and self._blocks_ready(z.id))
        return self._ok(call, {"area_id": area_id, "num_not_ready_zones": count})

    def _blocks_ready(self, zone_id: int) -> bool:
        state = self._zones[zone_id]
        if state.bypassed or not (state.violated or state.trouble):
            return False
        behaviour = DEFINITION_BEHAVIOUR.get(self._zone_cfg[zone_id].definition, "instant")
        return behaviour not in ("none", "24h")

    def _ready_status(self, area_id: int) -> str:
        status = "RDY_AWAY"
        for zone in self._inv.zones:
            if zone.area_id != area_id or not self._blocks_ready(zone.id):
                continue
            behaviour = DEFINITION_BEHAVIOUR.get(zone.definition, "instant")
            if behaviour in ("interior", "follower", "interior_delay"):
                status = "RDY_STAY"
            else:
                return "RDY_NOT"
        return status

    def _area_troubles(self, area_id: int) -> tuple[str, ...]:
        out: list[str] = []
        for zone in self._inv.zones:
            if zone.area_id != area_id:
                continue
            state = self._zones[zone.id]
            if state.trouble:
                out.append(f"zone {zone.id} trouble")
            if state.tamper:
                out.append(f"zone {zone.id} tamper")
            if state.low_batt:
                out.append(f"zone {zone.id} low battery")
        return tuple(out)

    def _refresh_area(self, area_id: int, now: float) -> None:
        """Recompute derived area fields after a zone change; broadcast what changed."""
        area = self._areas[area_id]
        ready = self._ready_status(area_id)
        troubles = self._area_troubles(area_id)
        if troubles != area.troubles:
            area.troubles = troubles
            self._broadcast(
                "area", {"area_id": area_id, "troubles": list(troubles)}, "get_troubles"
            )
        if ready != area.ready:
            area.ready = ready
            self._area_broadcast(area_id, now)

    def _alarm_kind(self, zone_id: int) -> str:
        definition = self._zone_cfg[zone_id].definition
        return DEFINITION_ALARM.get(definition, "BURGLARY")

    def _zone_violated(self, zone_id: int, now: float) -> None:
        """Alarm logic for a zone that just became violated (or tampered)."""
        cfg = self._zone_cfg[zone_id]
        state = self._zones[zone_id]
        if state.bypassed:
            return
        behaviour = DEFINITION_BEHAVIOUR.get(cfg.definition, "instant")
        area = self._areas[cfg.area_id]
        if behaviour == "24h":
            self._start_alarm(cfg.area_id, zone_id, self._alarm_kind(zone_id), now)
            return
        if behaviour == "none" or area.arm_state == DISARMED:
            return
        away = area.arm_state == ARMED_AWAY
        if behaviour in ("interior", "follower", "interior_delay") and not away:
            return
        if behaviour in ("delay", "interior_delay"):
            if area.delay is None and area.alarm_state == NO_ALARM:
                self._start_delay(area, "entry", self.config.timings.entry_delay, now)
                area.delay_zone = zone_id
                area.alarm_zone = zone_id
                self._log_event(now, f"Area {cfg.area_id} entry delay zone {zone_id}")
                self._area_broadcast(cfg.area_id, now)
            return
        if behaviour == "follower" and area.delay == "entry":
            return
        self._start_alarm(cfg.area_id, zone_id, "BURGLARY", now)

    def _entry_delay_expired(self, area_id: int, now: float) -> None:
        area = self._areas[area_id]
        zone_id = area.delay_zone
        area.delay = None
        area.delay_zone = None
        self._start_alarm(area_id, zone_id, "BURGLARY", now)

    def _start_alarm(self, area_id: int, zone_id: int | None, kind: str, now: float) -> None:
        area = self._areas[area_id]
        if area.alarm_state != NO_ALARM:
            return
        area.delay = None if area.delay == "entry" else area.delay
        area.alarm_state = kind
        area.alarm_zone = zone_id
        where = f" zone {zone_id}" if zone_id is not None else ""
        self._log_event(now, f"Area {area_id} {kind.lower()} alarm{where}")
        self._area_broadcast(area_id, now)

    # ------------------------------------------------------------------ zone

    def _zone_status(self, zone_id: int) -> dict[str, Any]:
        state = self._zones[zone_id]
        if state.tamper:
            secure = "TAMPER"
        elif state.violated:
            secure = "VIOLATED"
        elif state.trouble:
            secure = "TROUBLE"
        else:
            secure = "NORMAL"
        body: dict[str, Any] = {
            "zone_id": zone_id,
            "secure_state": secure,
            "contact_state": "OPEN" if state.violated else "CLOSED",
            "BYPASSED": state.bypassed,
            "low_batt": state.low_batt,
        }
        if state.rssi is not None:
            body["rssi"] = state.rssi
        return body

    def _zone_char(self, zone_id: int) -> str:
        cfg = self._zone_cfg.get(zone_id)
        if cfg is None or cfg.definition == "UNDEFINED":
            return "0"
        state = self._zones[zone_id]
        physical = 1 if state.violated else 2
        if state.bypassed:
            logical = 3
        elif state.violated:
            logical = 2
        elif state.trouble or state.tamper:
            logical = 1
        else:
            logical = 0
        return "0123456789ABCDEF"[logical * 4 + physical]

    def _zone_attribs(self, call: _Call) -> dict[str, Any]:
        zone_id = self._entity_id(call, self._zones)
        cfg = self._zone_cfg[zone_id]
        return self._ok(
            call,
            {
                "zone_id": zone_id,
                "name": cfg.name,
                "area_id": cfg.area_id,
                "definition": cfg.definition,
                "flags": [{"bypassable": cfg.bypassable}, {"wireless": cfg.wireless}],
            },
        )

    def _zone_get_status(self, call: _Call) -> dict[str, Any]:
        zone_id = self._entity_id(call, self._zones)
        return self._ok(call, self._zone_status(zone_id))

    def _zone_set_status(self, call: _Call) -> dict[str, Any]:
        zone_id = self._entity_id(call, self._zones)
        ids = {"zone_id": zone_id}
        cfg = self._zone_cfg[zone_id]
        bypass = call.params.get("BYPASSED")
        if not isinstance(bypass, bool):
            raise _Refused(E.INVALID_PARAM, ids)
        user = self._check_pin(call, (cfg.area_id,), ids)
        if not cfg.bypassable or cfg.definition == "UNDEFINED":
            raise _Refused(E.NOT_BYPASSABLE, ids)
        area = self._areas[cfg.area_id]
        if area.arm_state != DISARMED or area.delay is not None:
            raise _Refused(E.NOT_ALLOWED_WHEN_ARMED, ids)
        state = self._zones[zone_id]
        if state.bypassed != bypass:
            state.bypassed = bypass
            word = "bypassed" if bypass else "unbypassed"
            self._log_event(call.now, f"Zone {zone_id} {word} by user {user.id}")
            self._broadcast("zone", self._zone_status(zone_id))
            area.ready = self._ready_status(cfg.area_id)
            self._area_broadcast(cfg.area_id, call.now)
        return self._ok(call, ids)

    def _zone_bulk(self, call: _Call) -> dict[str, Any]:
        size = self._inv.table_size("zone")
        status = "".join(self._zone_char(z) for z in range(1, size + 1))
        return self._ok(call, {"status": status})

    def _zone_defs(self, call: _Call) -> dict[str, Any]:
        defs = list(self._inv.definitions)
        block_id, count = self._block(call, len(defs))
        size = self.config.behaviour.block_size
        chunk = defs[(block_id - 1) * size : block_id * size]
        return self._ok(call, {**self._block_fields(block_id, count), "definitions": chunk})

    def _zone_def_flags(self, call: _Call) -> dict[str, Any]:
        definition = call.params.get("definition")
        if not isinstance(definition, str) or definition not in self._inv.definitions:
            raise _Refused(E.INVALID_PARAM)
        behaviour = DEFINITION_BEHAVIOUR.get(definition, "instant")
        flags = [{"behaviour": behaviour}, {"always_active": behaviour == "24h"}]
        return self._ok(call, {"definition": definition, "flags": flags})

    # ------------------------------------------------------------------ outputs

    def _output_attribs(self, call: _Call) -> dict[str, Any]:
        output_id = self._entity_id(call, self._outputs)
        name = next(o.name for o in self._inv.outputs if o.id == output_id)
        return self._ok(
            call,
            {
                "output_id": output_id,
                "name": name,
                "source_id": 0,
                "device_id": f"{output_id:08X}",
                "hide": False,
            },
        )

    def _output_status(self, output_id: int) -> dict[str, Any]:
        return {"output_id": output_id, "status": "ON" if self._outputs[output_id] else "OFF"}

    def _output_get_status(self, call: _Call) -> dict[str, Any]:
        return self._ok(call, self._output_status(self._entity_id(call, self._outputs)))

    def _output_set_status(self, call: _Call) -> dict[str, Any]:
        output_id = self._entity_id(call, self._outputs)
        status = call.params.get("status")
        if not isinstance(status, str) or status.upper() not in ("ON", "OFF"):
            raise _Refused(E.INVALID_PARAM, {"output_id": output_id})
        on = status.upper() == "ON"
        if self._outputs[output_id] != on:
            self._outputs[output_id] = on
            self._broadcast("output", self._output_status(output_id))
        return self._ok(call, {"output_id": output_id})

    def _output_bulk(self, call: _Call) -> dict[str, Any]:
        size = self._inv.table_size("output")
        status = "".join("1" if self._outputs.get(i) else "0" for i in range(1, size + 1))
        block_id = _intish(call.params.get("block_id", 1))
        if block_id != 1:
            raise _Refused(E.INVALID_ID)
        return self._ok(call, {**self._block_fields(1, 1), "status": status})

    # ------------------------------------------------------------------ Z-Wave devices

    def _simple_attribs(self, call: _Call) -> dict[str, Any]:
        groups: dict[str, Any] = {
            "light": self._inv.lights,
            "lock": self._inv.locks,
            "tstat": self._inv.tstats,
            "barrier": self._inv.barriers,
        }
        items = {item.id: item for item in groups[call.domain]}
        entity_id = self._entity_id(call, items)
        item = items[entity_id]
        body: dict[str, Any] = {
            _ENTITY_DOMAINS[call.domain][0]: entity_id,
            "name": item.name,
            "area_id": item.area_id,
        }
        if call.domain == "light":
            body["dimmable"] = item.dimmable
        return self._ok(call, body)

    def _zwave_busy(self, call: _Call, ids: dict[str, Any]) -> None:
        rate = self.config.behaviour.zwave_busy_rate
        if rate > 0 and self._rng.random() < rate:
            raise _Refused(E.ZWAVE_BUSY, ids)

    def _light_get_status(self, call: _Call) -> dict[str, Any]:
        light_id = self._entity_id(call, self._lights)
        return self._ok(call, {"light_id": light_id, "level": self._lights[light_id]})

    def _light_set_status(self, call: _Call) -> dict[str, Any]:
        light_id = self._entity_id(call, self._lights)
        ids = {"light_id": light_id}
        status = call.params.get("status")
        level = call.params.get("level")
        if status is None and level is None:
            raise _Refused(E.INVALID_PARAM, ids)
        if status is not None and (
            not isinstance(status, str) or status.upper() not in ("ON", "OFF")
        ):
            raise _Refused(E.INVALID_PARAM, ids)
        if level is not None and (
            isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 100
        ):
            raise _Refused(E.INVALID_PARAM, ids)
        self._zwave_busy(call, ids)
        current = self._lights[light_id]
        if level is not None:
            new = min(level, 99)
            if status is not None and status.upper() == "OFF":
                new = 0
        elif status is not None and status.upper() == "OFF":
            new = 0
        else:
            new = current or self._light_last[light_id]
        if new and not self._dimmable[light_id]:
            new = 99
        if new:
            self._light_last[light_id] = new
        if new != current:
            self._lights[light_id] = new
            self._zwave_report("light", {"light_id": light_id, "level": new}, call.now)
        return self._ok(call, ids)

    def _lock_status(self, lock_id: int) -> dict[str, Any]:
        locked = self._locks[lock_id]
        return {"lock_id": lock_id, "status": "ON" if locked else "OFF", "locked": locked}

    def _lock_get_status(self, call: _Call) -> dict[str, Any]:
        return self._ok(call, self._lock_status(self._entity_id(call, self._locks)))

    def _lock_set_status(self, call: _Call) -> dict[str, Any]:
        lock_id = self._entity_id(call, self._locks)
        ids = {"lock_id": lock_id}
        status = call.params.get("status")
        if not isinstance(status, str) or status.upper() not in ("ON", "OFF"):
            raise _Refused(E.INVALID_PARAM, ids)
        self._zwave_busy(call, ids)
        locked = status.upper() == "ON"
        if self._locks[lock_id] != locked:
            self._locks[lock_id] = locked
            self._log_event(call.now, f"Lock {lock_id} {'locked' if locked else 'unlocked'}")
            self._zwave_report("lock", self._lock_status(lock_id), call.now)
        return self._ok(call, ids)

    def _initial_tstat(self, rng: random.Random) -> _TstatState:
        behaviour = self.config.behaviour
        modes, fans = behaviour.tstat_modes, behaviour.tstat_fan_modes
        mode = "AUTO" if "AUTO" in modes else modes[0]
        fan = "AUTO" if "AUTO" in fans else fans[0]
        if behaviour.tstat_units == "C":
            temperature = round(rng.uniform(20.0, 23.0), 1)
            heat, cool = 20, 24
        else:
            temperature = float(rng.randint(68, 74))
            heat, cool = 68, 76
        return _TstatState(
            temperature, mode, fan, heat, cool, rng.randint(35, 55), rng.randint(60, 100), -55
        )

    def _tstat_status(self, tstat_id: int) -> dict[str, Any]:
        t = self._tstats[tstat_id]
        celsius = self.config.behaviour.tstat_units == "C"
        # prec per §13.5: [temperature, cool, heat, humidity]; bits 7..5 = decimal places.
        temperature = round(t.temperature * 10) if celsius else round(t.temperature)
        return {
            "tstat_id": tstat_id,
            "temperature": temperature,
            "mode": t.mode,
            "fan_mode": t.fan_mode,
            "heat_setpoint": t.heat,
            "cool_setpoint": t.cool,
            "humidity": t.humidity,
            "rssi": t.rssi,
            "prec": [32 if celsius else 0, 0, 0, 0],
            "battery level": t.battery,
        }

    def _tstat_get_status(self, call: _Call) -> dict[str, Any]:
        return self._ok(call, self._tstat_status(self._entity_id(call, self._tstats)))

    def _tstat_set_status(self, call: _Call) -> dict[str, Any]:
        tstat_id = self._entity_id(call, self._tstats)
        ids = {"tstat_id": tstat_id}
        params = call.params
        behaviour = self.config.behaviour
        keys = ("mode", "fan_mode", "heat_setpoint", "cool_setpoint")
        if not any(k in params for k in keys):
            raise _Refused(E.INVALID_PARAM, ids)
        if "mode" in params and params["mode"] not in behaviour.tstat_modes:
            raise _Refused(E.INVALID_MODE, ids)
        if "fan_mode" in params and params["fan_mode"] not in behaviour.tstat_fan_modes:
            raise _Refused(E.INVALID_MODE, ids)
        low, high = (5, 35) if behaviour.tstat_units == "C" else (40, 95)
        for key in ("heat_setpoint", "cool_setpoint"):
            if key in params:
                value = params[key]
                if isinstance(value, bool) or not isinstance(value, int):
                    raise _Refused(E.INVALID_PARAM, ids)
                if not low <= value <= high:
                    raise _Refused(E.INVALID_PARAM, ids)
        self._zwave_busy(call, ids)
        t = self._tstats[tstat_id]
        before = (t.mode, t.fan_mode, t.heat, t.cool)
        t.mode = params.get("mode", t.mode)
        t.fan_mode = params.get("fan_mode", t.fan_mode)
        t.heat = params.get("heat_setpoint", t.heat)
        t.cool = params.get("cool_setpoint", t.cool)
        if (t.mode, t.fan_mode, t.heat, t.cool) != before:
            self._zwave_report("tstat", self._tstat_status(tstat_id), call.now)
        return self._ok(call, ids)

    def _barrier_status(self, barrier_id: int) -> dict[str, Any]:
        return {
            "barrier_id": barrier_id,
            "status": self._barriers[barrier_id].status,
            "tamper": False,
            "low_batt": False,
            "rssi": -60,
        }

    def _barrier_get_status(self, call: _Call) -> dict[str, Any]:
        return self._ok(call, self._barrier_status(self._entity_id(call, self._barriers)))

    def _barrier_set_status(self, call: _Call) -> dict[str, Any]:
        barrier_id = self._entity_id(call, self._barriers)
        ids = {"barrier_id": barrier_id}
        key = (call.auth.session_id, call.request.seq)
        if key in self._barrier_seen:  # a retransmission: answer again, act at most once
            return self._ok(call, self._barrier_seen[key])
        command = call.params.get("status")
        if not isinstance(command, str) or command.lower() not in ("open", "close", "stop"):
            raise _Refused(E.INVALID_PARAM, ids)
        self._zwave_busy(call, ids)
        barrier = self._barriers[barrier_id]
        now = call.now
        verb = command.lower()
        travel = self._scaled(self.config.timings.barrier_travel)
        if verb == "stop":
            if barrier.target:
                barrier.target = ""
                barrier.status = "STOPPED"
                self._broadcast("barrier", self._barrier_status(barrier_id))
        else:
            final = "OPEN" if verb == "open" else "CLOSED"
            moving = "OPENING" if verb == "open" else "CLOSING"
            if final not in (barrier.status, barrier.target):
                self._log_event(now, f"Barrier {barrier_id} {verb}")
                if travel <= 0:
                    barrier.status = final
                    barrier.target = ""
                else:
                    barrier.status = moving
                    barrier.target = final
                    barrier.moving_until = now + travel
                self._broadcast("barrier", self._barrier_status(barrier_id))
        ack = {**ids, "status": barrier.status}
        if len(self._barrier_seen) > 256:
            self._barrier_seen.clear()
        self._barrier_seen[key] = ack
        return self._ok(call, ack)

    # ------------------------------------------------------------------ keypads, users

    def _keypad_attribs(self, call: _Call) -> dict[str, Any]:
        keypads = {k.id: k for k in self._inv.keypads}
        keypad_id = self._entity_id(call, keypads)
        keypad = keypads[keypad_id]
        return self._ok(
            call,
            {
                "keypad_id": keypad_id,
                "source_id": 0,
                "device_id": f"{0x10000000 + keypad_id:08X}",
                "name": keypad.name,
                "area": keypad.area_id,
                "backlight": 2,
                "zone_id": 0,
                "quiet_start": 0,
                "quiet_end": 0,
                "flags": [],
            },
        )

    def _user_attribs(self, call: _Call) -> dict[str, Any]:
        users = {u.id: u for u in self._inv.users}
        user_id = self._entity_id(call, users)
        user = users[user_id]
        return self._ok(
            call,
            {
                "user_id": user_id,
                "name": user.name,
                "pin": user.pin,
                "group_id": user.group_id,
                "flags": [],
                "enabled": True,
            },
        )

    # ------------------------------------------------------------------ control, system

    def _version_info(self, call: _Call) -> dict[str, Any]:
        ident = self.config.identity
        return self._ok(
            call,
            {
                "sn": ident.version_sn,
                "hw": ident.hardware,
                "boot": ident.boot,
                "app": ident.firmware,
                "db1": "1",
                "db1ver": "1.0",
                "schema": 0,
                "SSP": ident.ssp,
                "BUILD_DATETIME": ident.build_datetime,
            },
        )

    def _control_authenticate(self, call: _Call) -> dict[str, Any]:
        return self._authenticate(call.request, call.auth, call.now, nested=False)

    def _trouble_body(self, domain: str) -> dict[str, Any]:
        if domain == "control":
            return {"modtbl": list(self._control_troubles)}
        if domain == "bus_io_dev":
            return {"MISSING": list(self._bus_missing)} if self._bus_missing else {}
        return {"troubles": list(self._troubles), "at": []}

    def _trouble_reply(self, call: _Call) -> dict[str, Any]:
        return self._ok(call, self._trouble_body(call.domain))

    def _system_attribs(self, call: _Call) -> dict[str, Any]:
        ident = self.config.identity
        return self._ok(
            call,
            {"panel_name": ident.name, "name": ident.name, "serial": ident.serial},
        )

    def _system_time(self, call: _Call) -> dict[str, Any]:
        return self._ok(
            call,
            {"gmt_seconds": int(self._wall(call.now)), "tz_offset": 0, "dst_active": False},
        )

    def _network_ssid(self, call: _Call) -> dict[str, Any]:
        # Form C: the value sits directly under the command, error_code at domain level.
        return {"seq": call.request.seq, "network": {"get_ssid": "SimulatorWiFi", "error_code": 0}}

    # ------------------------------------------------------------------ log and rules

    def _log_event(self, now: float, text: str) -> None:
        entry = _LogEntry(self._log_next_id, int(self._wall(now)), text)
        self._log_next_id += 1
        self._log.append(entry)

    def _log_index(self, call: _Call) -> dict[str, Any]:
        newest = self._log[-1].log_id if self._log else 0
        return self._ok(
            call, {"newest": newest, "max": self._inv.log_capacity, "total": len(self._log)}
        )

    def _log_list(self, call: _Call) -> dict[str, Any]:
        params = call.params
        start = _intish(params.get("start", 0)) or 0
        count = _intish(params.get("cnt", 10))
        date = _intish(params.get("date", 0)) or 0
        if count is None or count < 1:
            raise _Refused(E.INVALID_PARAM)
        count = min(count, 50)
        picked: list[_LogEntry] = []
        for entry in reversed(self._log):  # newest first
            if start and entry.log_id > start:
                continue
            if entry.time < date:
                break
            picked.append(entry)
            if len(picked) >= count:
                break
        return self._ok(
            call,
            {
                "id": [e.log_id for e in picked],
                "time": [e.time for e in picked],
                "text": [e.text for e in picked],
            },
        )

    def _log_get(self, call: _Call) -> dict[str, Any]:
        log_id = _int_param(call.params, "log_id")
        entry = next((e for e in self._log if e.log_id == log_id), None)
        if entry is None:
            raise _Refused(E.INVALID_ID, {"log_id": log_id})
        return self._ok(
            call,
            {
                "log_id": log_id,
                "log_count": len(self._log),
                "time": entry.time,
                "logdata": entry.text,
            },
        )

    def _log_trouble(self, call: _Call) -> dict[str, Any]:
        return self._ok(call, {"log_full": len(self._log) >= self._inv.log_capacity})

    def _log_attribs(self, call: _Call) -> dict[str, Any]:
        flags = {"arm_changed": True, "alarm": True, "bypass": True, "trouble": True}
        return self._ok(call, {"log_flags": flags, "sdlog_flags": dict.fromkeys(flags, False)})

    def _rules(self, call: _Call) -> dict[str, Any]:
        rules = self._inv.rules
        per_block = 4
        count = math.ceil(rules / per_block)
        block_id = _intish(call.params.get("block_id", 0))
        if block_id is None:
            raise _Refused(E.INVALID_PARAM)
        if not 0 <= block_id <= count:
            raise _Refused(E.INVALID_ID, {"block_id": block_id, "block_count": count})
        body = self._block_fields(block_id, count)
        if block_id > 0:
            first = (block_id - 1) * per_block + 1
            last = min(rules, first + per_block - 1)
            body["data"] = "".join(
                f"R{n:03d}{_csm('rule', n):04X};" for n in range(first, last + 1)
            )
        return self._ok(call, body)
