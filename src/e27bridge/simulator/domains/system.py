"""Panel-wide commands: version, troubles, time, network, rules and the table metadata.

``get_table_info`` and ``get_configured`` of every entity domain are answered here from
the inventory; ADR-0203 records table sizes and paging.
"""

from __future__ import annotations

import math
from typing import Any

from e27bridge.protocol.errors import PanelErrorCode as E
from e27bridge.simulator.domains.base import (
    ENTITY_DOMAINS,
    Call,
    Core,
    Handlers,
    Message,
    Refused,
    csm,
    intish,
    ok,
)
from e27bridge.simulator.domains.eventlog import EventLog

RULES_PER_BLOCK = 4
_ELEMENT_SIZE = {"zone": 64, "user": 48, "log": 32}


class System:
    """Troubles, identity and time, plus the generic table commands of every domain."""

    def __init__(self, core: Core, log: EventLog) -> None:
        self.core = core
        self.log = log
        initial = core.config.initial
        self.troubles: list[str] = list(initial.troubles)
        self.control_troubles: list[str] = []
        self.bus_missing: list[str] = list(initial.bus_missing)
        self._csm = self._compute_csms()

    def table_csm(self, domain: str) -> int:
        return self._csm.get(domain) or csm(domain)

    def _compute_csms(self) -> dict[str, int]:
        inv = self.core.inv
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
            "system": self.core.config.identity.name,
        }
        return {domain: csm(domain, value) for domain, value in sources.items()}

    # -- control hook

    def set_trouble(self, name: str, active: bool, now: float) -> None:
        """System trouble ``name``; ``bus:<id>`` / ``control:<x>`` go to those domains."""
        if not name.strip():
            raise ValueError("trouble name must not be empty")
        if name.startswith("bus:"):
            target, domain, item = self.bus_missing, "bus_io_dev", name[4:]
        elif name.startswith("control:"):
            target, domain, item = self.control_troubles, "control", name[8:]
        else:
            target, domain, item = self.troubles, "system", name
        if active == (item in target):
            return
        if active:
            target.append(item)
        else:
            target.remove(item)
        self.log.append(now, f"Trouble {item} {'active' if active else 'restored'}")
        self.core.broadcast(domain, self._trouble_body(domain), "get_trouble")

    # -- commands

    def handlers(self) -> Handlers:
        h: Handlers = {}
        for domain in ENTITY_DOMAINS:
            h[(domain, "get_table_info")] = self._table_info
            h[(domain, "get_configured")] = self._get_configured
        for domain in ("log", "system", "rule", "network", "control", "bus_io_dev"):
            h[(domain, "get_table_info")] = self._table_info
        trouble = self._trouble_reply
        h.update(
            {
                ("control", "get_version_info"): self._version_info,
                ("control", "get_trouble"): trouble,
                ("system", "r_u_alive"): lambda c: ok(c, {}),
                ("system", "get_trouble"): trouble,
                ("system", "get_troubles"): trouble,
                ("system", "get_attribs"): self._attribs,
                ("system", "get_system_time"): self._time,
                ("network", "get_rssi"): lambda c: ok(c, {"rssi": -52}),
                ("network", "get_ssid"): self._ssid,
                ("bus_io_dev", "get_trouble"): trouble,
                ("rule", "get_rules"): self._rules,
            }
        )
        return h

    def _version_info(self, call: Call) -> Message:
        ident = self.core.config.identity
        body = {
            "sn": ident.version_sn,
            "hw": ident.hardware,
            "boot": ident.boot,
            "app": ident.firmware,
            "db1": "1",
            "db1ver": "1.0",
            "schema": 0,
            "SSP": ident.ssp,
            "BUILD_DATETIME": ident.build_datetime,
        }
        return ok(call, body)

    def _trouble_body(self, domain: str) -> dict[str, Any]:
        if domain == "control":
            return {"modtbl": list(self.control_troubles)}
        if domain == "bus_io_dev":
            return {"MISSING": list(self.bus_missing)} if self.bus_missing else {}
        return {"troubles": list(self.troubles), "at": []}

    def _trouble_reply(self, call: Call) -> Message:
        return ok(call, self._trouble_body(call.domain))

    def _attribs(self, call: Call) -> Message:
        ident = self.core.config.identity
        return ok(call, {"panel_name": ident.name, "name": ident.name, "serial": ident.serial})

    def _time(self, call: Call) -> Message:
        seconds = int(self.core.wall(call.now))
        return ok(call, {"gmt_seconds": seconds, "tz_offset": 0, "dst_active": False})

    @staticmethod
    def _ssid(call: Call) -> Message:
        # Form C: the value sits directly under the command, error_code at domain level.
        return {"seq": call.request.seq, "network": {"get_ssid": "SimulatorWiFi", "error_code": 0}}

    def _items(self, domain: str) -> list[int]:
        plural = ENTITY_DOMAINS[domain][1]
        return sorted(item.id for item in getattr(self.core.inv, plural))

    def _table_info(self, call: Call) -> Message:
        domain = call.domain
        inv = self.core.inv
        if domain == "log":
            elements = inv.log_capacity
        elif domain in ENTITY_DOMAINS:
            elements = inv.table_size(domain)
        elif domain == "rule":
            elements = max(inv.rules, 1)
        else:
            elements = 1
        element_size = _ELEMENT_SIZE.get(domain, 40)
        body = {
            "table_csm": self.table_csm(domain),
            "table_elements": elements,
            "tablesize": elements * element_size,
            "increment_size": 1,
            "element_size": element_size,
        }
        return ok(call, body)

    def _get_configured(self, call: Call) -> Message:
        fields, chunk = self.core.page(call, self._items(call.domain))
        return ok(call, {**fields, ENTITY_DOMAINS[call.domain][1]: chunk})

    def _rules(self, call: Call) -> Message:
        rules = self.core.inv.rules
        count = math.ceil(rules / RULES_PER_BLOCK)
        block_id = intish(call.params.get("block_id", 0))
        if block_id is None:
            raise Refused(E.INVALID_PARAM)
        if not 0 <= block_id <= count:
            raise Refused(E.INVALID_ID, {"block_id": block_id, "block_count": count})
        body = self.core.block_fields(call, block_id, count)
        if block_id > 0:
            first = (block_id - 1) * RULES_PER_BLOCK + 1
            last = min(rules, first + RULES_PER_BLOCK - 1)
            body["data"] = "".join(f"R{n:03d}{csm('rule', n):04X};" for n in range(first, last + 1))
        return ok(call, body)
