"""Users, keypads and the permission model: authenticate, PIN checks, privilege (§10).

User codes live here (they are panel memory a restart keeps); the permission table is in
permissions.py. ADR-0201 and ADR-0202 record the choices where the reference is unsure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.protocol.messages import PanelRequest
from e27bridge.simulator.config import PIN_MAX, PIN_MIN, User
from e27bridge.simulator.domains.base import (
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    SessionAuth,
    entity_id,
    ok,
)
from e27bridge.simulator.domains.permissions import ERROR_TEXT

# Every table checksum the authenticate reply carries (``<domain>_csm``).
CSM_DOMAINS: tuple[str, ...] = (
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


class Security:
    """The users and their codes, and everything that checks them."""

    def __init__(self, core: Core, table_csm: Callable[[str], int]) -> None:
        self.core = core
        self.table_csm = table_csm
        self.users: dict[int, User] = {u.id: u for u in core.inv.users}
        self.by_pin: dict[int, User] = {u.pin: u for u in self.users.values()}

    # -- persistence (user codes)

    def snapshot(self) -> dict[str, Any]:
        return {str(user_id): user.pin for user_id, user in self.users.items()}

    def restore(self, data: dict[str, Any], keep: tuple[int, ...] = ()) -> None:
        """Saved codes replace configured ones, except for user ids in ``keep``."""
        for key, pin in data.items():
            user = self.users.get(int(key))
            if user is None or user.id in keep:
                continue
            if isinstance(pin, bool) or not isinstance(pin, int) or not PIN_MIN <= pin <= PIN_MAX:
                raise ValueError(f"user {key}: saved code is not a PIN")
            self.users[user.id] = dataclasses.replace(user, pin=pin)
        self.by_pin = {u.pin: u for u in self.users.values()}
        if len(self.by_pin) != len(self.users):
            raise ValueError("saved user codes are not unique")

    # -- session privilege

    @staticmethod
    def expire_privilege(auth: SessionAuth, now: float) -> None:
        if auth.level > 1 and now >= auth.privilege_until:
            auth.level = 1
            auth.user_id = None

    def extend_privilege(self, auth: SessionAuth, now: float) -> None:
        auth.privilege_until = now + self.core.scaled(self.core.config.timings.privilege_window)

    def authenticate(
        self, request: PanelRequest, auth: SessionAuth, now: float, *, nested: bool
    ) -> Message:
        pin = request.params.get("pin")
        user: User | None = None
        if isinstance(pin, str) or pin is None:
            code = int(E.NOAUTH)
        elif isinstance(pin, bool) or not isinstance(pin, int):
            code = int(E.INVALID_PARAM)
        else:
            user = self.by_pin.get(pin)
            code = 0 if user is not None else self.core.config.behaviour.auth_fail_code
        body: dict[str, Any]
        if user is None:
            body = {"error_code": code}
            if code in ERROR_TEXT:
                body["error_message"] = ERROR_TEXT[code]
        else:
            new_id = auth.session_id
            while new_id in (auth.session_id, 0):
                new_id = self.core.rng.randrange(1, 2**31)
            auth.session_id = new_id
            auth.level = user.level
            auth.user_id = user.id
            self.extend_privilege(auth, now)
            body = {
                "session_id": new_id,
                "installer": user.installer,
                "user_id": user.id,
                "group_id": user.group_id,
                **{f"{d}_csm": self.table_csm(d) for d in CSM_DOMAINS},
                "error_code": 0,
            }
        if nested:
            return {"authenticate": {"seq": request.seq, **body}}
        return {"seq": request.seq, "control": {"authenticate": body}}

    def check_pin(self, call: Call, area_ids: tuple[int, ...], body: dict[str, Any]) -> User:
        """The user whose code is in the command, or the session's user; 11004 if wrong."""
        pin = call.params.get("pin")
        if isinstance(pin, str):
            raise Refused(E.NOAUTH, body)
        if pin is None:
            found = self.users.get(call.auth.user_id) if call.auth.user_id is not None else None
            if found is None or call.auth.level < 2:
                raise Refused(E.NOAUTH, body)
        elif isinstance(pin, bool) or not isinstance(pin, int):
            raise Refused(E.INVALID_PARAM, body)
        else:
            found = self.by_pin.get(pin)
            if found is None:
                raise Refused(E.INVALID_PARAM, body)
        if found.areas and not all(a in found.areas for a in area_ids):
            raise Refused(E.INVALID_PARAM, body)
        return found

    # -- commands

    def handlers(self) -> Handlers:
        return {
            ("keypad", "get_attribs"): self._keypad_attribs,
            ("user", "get_attribs"): self._user_attribs,
            ("control", "authenticate"): lambda c: self.authenticate(
                c.request, c.auth, c.now, nested=False
            ),
        }

    def _keypad_attribs(self, call: Call) -> Message:
        keypads = {k.id: k for k in self.core.inv.keypads}
        keypad = keypads[entity_id(call, keypads)]
        body = {
            "keypad_id": keypad.id,
            "source_id": 0,
            "device_id": f"{0x10000000 + keypad.id:08X}",
            "name": keypad.name,
            "area": keypad.area_id,
            "backlight": 2,
            "zone_id": 0,
            "quiet_start": 0,
            "quiet_end": 0,
            "flags": [],
        }
        return ok(call, body)

    def _user_attribs(self, call: Call) -> Message:
        user = self.users[entity_id(call, self.users)]
        body = {
            "user_id": user.id,
            "name": user.name,
            "pin": user.pin,
            "group_id": user.group_id,
            "flags": [],
            "enabled": True,
        }
        return ok(call, body)
