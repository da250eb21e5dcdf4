"""Thermostats: mode, fan, setpoints, and a room temperature that follows them (§13.5).

While a thermostat heats (mode HEAT or AUTO, below the heat setpoint) or cools (COOL or
AUTO, above the cool setpoint) its temperature moves one step (1 °F or 0.5 °C) toward the
setpoint every ``timings.tstat_drift_interval`` panel seconds, with a status broadcast per
step; idle thermostats cost nothing. The accepted setpoint range is refused outside with
11004 and reported in ``get_attribs`` as ``setpoint_min`` / ``setpoint_max`` / ``units``
(ADR-0204 addendum in ADR-0208).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.domains.base import (
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    device_attribs,
    entity_id,
    ok,
)

_SETPOINT_KEYS = ("heat_setpoint", "cool_setpoint")


@dataclass
class TstatState:
    temperature: float
    mode: str
    fan_mode: str
    heat: int
    cool: int
    humidity: int
    battery: int
    rssi: int
    next_step: float = math.inf  # when the temperature moves next (inf: not drifting)


class Thermostats:
    def __init__(self, core: Core, setup: random.Random) -> None:
        self.core = core
        behaviour = core.config.behaviour
        self.celsius = behaviour.tstat_units == "C"
        self.low, self.high = behaviour.setpoint_range()
        self.step = 0.5 if self.celsius else 1.0
        self.items = {t.id: t for t in core.inv.tstats}
        self.states = {t.id: self._initial(setup) for t in core.inv.tstats}

    def _initial(self, rng: random.Random) -> TstatState:
        behaviour = self.core.config.behaviour
        modes, fans = behaviour.tstat_modes, behaviour.tstat_fan_modes
        mode = "AUTO" if "AUTO" in modes else modes[0]
        fan = "AUTO" if "AUTO" in fans else fans[0]
        if self.celsius:
            temperature = round(rng.uniform(20.0, 23.0), 1)
            heat, cool = 20, 24
        else:
            temperature = float(rng.randint(68, 74))
            heat, cool = 68, 76
        return TstatState(
            temperature, mode, fan, heat, cool, rng.randint(35, 55), rng.randint(60, 100), -55
        )

    # -- persistence (setpoints and modes; the temperature is measured, not stored)

    def snapshot(self) -> dict[str, Any]:
        return {str(k): [t.mode, t.fan_mode, t.heat, t.cool] for k, t in self.states.items()}

    def restore(self, data: dict[str, Any]) -> None:
        for key, (mode, fan_mode, heat, cool) in data.items():
            t = self.states.get(int(key))
            if t is not None:
                t.mode, t.fan_mode, t.heat, t.cool = str(mode), str(fan_mode), int(heat), int(cool)

    # -- drift

    def _target(self, t: TstatState) -> float | None:
        """The setpoint the room is moving toward, or None when the thermostat is idle."""
        if t.mode in ("HEAT", "AUTO") and t.temperature < t.heat:
            return float(t.heat)
        if t.mode in ("COOL", "AUTO") and t.temperature > t.cool:
            return float(t.cool)
        return None

    def _schedule(self, t: TstatState, now: float) -> None:
        interval = self.core.config.timings.tstat_drift_interval
        drifting = interval > 0 and self._target(t) is not None
        if not drifting:
            t.next_step = math.inf
        elif t.next_step == math.inf:
            t.next_step = now + self.core.scaled(interval)

    def start(self, now: float) -> None:
        for t in self.states.values():
            self._schedule(t, now)

    def advance(self, now: float) -> None:
        for tstat_id, t in self.states.items():
            if t.next_step > now:
                continue
            target = self._target(t)
            if target is not None:
                delta = min(self.step, abs(target - t.temperature))
                t.temperature += delta if target > t.temperature else -delta
                self.core.broadcast("tstat", self.status(tstat_id))
            t.next_step = math.inf
            self._schedule(t, now)

    def deadlines(self) -> list[float]:
        return [t.next_step for t in self.states.values() if t.next_step != math.inf]

    # -- commands

    def handlers(self) -> Handlers:
        return {
            ("tstat", "get_attribs"): self._attribs,
            ("tstat", "get_status"): lambda c: ok(c, self.status(entity_id(c, self.states))),
            ("tstat", "set_status"): self._set_status,
        }

    def _attribs(self, call: Call) -> Message:
        units = "C" if self.celsius else "F"
        return device_attribs(
            call, self.items, units=units, setpoint_min=self.low, setpoint_max=self.high
        )

    def status(self, tstat_id: int) -> dict[str, Any]:
        t = self.states[tstat_id]
        # prec per §13.5: [temperature, cool, heat, humidity]; bits 7..5 = decimal places.
        temperature = round(t.temperature * 10) if self.celsius else round(t.temperature)
        return {
            "tstat_id": tstat_id,
            "temperature": temperature,
            "mode": t.mode,
            "fan_mode": t.fan_mode,
            "heat_setpoint": t.heat,
            "cool_setpoint": t.cool,
            "humidity": t.humidity,
            "rssi": t.rssi,
            "prec": [32 if self.celsius else 0, 0, 0, 0],
            "battery level": t.battery,
        }

    def _check(self, params: dict[str, Any], ids: dict[str, Any]) -> None:
        behaviour = self.core.config.behaviour
        if not any(k in params for k in ("mode", "fan_mode", *_SETPOINT_KEYS)):
            raise Refused(E.INVALID_PARAM, ids)
        if "mode" in params and params["mode"] not in behaviour.tstat_modes:
            raise Refused(E.INVALID_MODE, ids)
        if "fan_mode" in params and params["fan_mode"] not in behaviour.tstat_fan_modes:
            raise Refused(E.INVALID_MODE, ids)
        for key in _SETPOINT_KEYS:
            if key in params:
                value = params[key]
                if isinstance(value, bool) or not isinstance(value, int):
                    raise Refused(E.INVALID_PARAM, ids)
                if not self.low <= value <= self.high:
                    raise Refused(E.INVALID_PARAM, ids)

    def _set_status(self, call: Call) -> Message:
        tstat_id = entity_id(call, self.states)
        ids = {"tstat_id": tstat_id}
        params = call.params
        self._check(params, ids)
        self.core.zwave_busy(ids)
        t = self.states[tstat_id]
        before = (t.mode, t.fan_mode, t.heat, t.cool)
        t.mode = params.get("mode", t.mode)
        t.fan_mode = params.get("fan_mode", t.fan_mode)
        t.heat = params.get("heat_setpoint", t.heat)
        t.cool = params.get("cool_setpoint", t.cool)
        if (t.mode, t.fan_mode, t.heat, t.cool) != before:
            self.core.mark_dirty()
            self._schedule(t, call.now)
            self.core.device_report("tstat", self.status(tstat_id), call.now)
        return ok(call, ids)
