"""Bootstrap after every HELLO (protocol §15): inventory, names, then current status.

Every request goes through the session's single queue, one at a time, at background
priority so user commands overtake it. Nothing read before a reconnect counts: the result
is a complete, freshly read set of entities.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from e27bridge.panel.queue import Priority, QueueResult, RequestQueue
from e27bridge.panel.reducer import Reduction, apply_message
from e27bridge.panel.state import (
    Area,
    Barrier,
    EntityKind,
    Keypad,
    Light,
    Lock,
    Output,
    PanelInfo,
    PanelSnapshot,
    Thermostat,
    User,
    Zone,
)
from e27bridge.protocol import models, requests
from e27bridge.protocol.errors import E27Error, MalformedMessage, PanelErrorCode

log = structlog.get_logger("e27bridge.bootstrap")

UNDEFINED = "UNDEFINED"
REQUIRED_DOMAINS = frozenset({"area", "zone", "output"})
_FACTORIES: dict[str, tuple[EntityKind, Any]] = {
    "area": (EntityKind.AREA, Area),
    "zone": (EntityKind.ZONE, Zone),
    "output": (EntityKind.OUTPUT, Output),
    "light": (EntityKind.LIGHT, Light),
    "lock": (EntityKind.LOCK, Lock),
    "tstat": (EntityKind.TSTAT, Thermostat),
    "barrier": (EntityKind.BARRIER, Barrier),
    "keypad": (EntityKind.KEYPAD, Keypad),
    "user": (EntityKind.USER, User),
}
_STATUS_PER_ID = ("area", "light", "lock", "tstat", "barrier")


class BootstrapFailed(E27Error):
    """The session ended or a required inventory could not be read."""


@dataclass
class BootstrapResult:
    snapshot: PanelSnapshot
    table_csms: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    log_newest: int | None = None  # where the event log stood; older entries are history


class Bootstrapper:
    def __init__(self, queue: RequestQueue, panel_id: str, info: PanelInfo) -> None:
        self._queue = queue
        self._panel_id = panel_id
        self._info = info
        self.requests = 0

    async def _ask(self, spec: requests.RequestSpec) -> QueueResult:
        self.requests += 1
        future = self._queue.enqueue(spec, Priority.BACKGROUND)
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            self._queue.withdraw(future)  # the session ended: nothing stays queued for it
            raise
        if result.outcome.value in ("unavailable", "unknown", "expired"):
            raise BootstrapFailed(f"{spec.route}: {result.reason}")
        return result

    async def run(self) -> BootstrapResult:
        info = await self._version()
        tables = {d: await self._table(d) for d in (*requests.ENTITY_DOMAINS, "keypad")}
        inventory = {
            d: await self._configured(d, tables.get(d)) for d in requests.INVENTORY_DOMAINS
        }
        definitions = await self._zone_definitions() if inventory["zone"] else ()
        snapshot = PanelSnapshot(self._panel_id, info)
        reduction = Reduction(snapshot)
        for domain, ids in inventory.items():
            kind, factory = _FACTORIES[domain]
            entities = {}
            for entity_id in ids:
                attribs = await self._attribs(domain, entity_id)
                if attribs is None:
                    continue
                entity = _entity(factory, domain, attribs, definitions)
                if entity is not None:
                    entities[entity_id] = entity
            reduction.snapshot = reduction.snapshot.with_entities(kind, entities)
        await self._status(reduction)
        csms = {
            d: t.table_csm for d, t in tables.items() if t is not None and t.table_csm is not None
        }
        log_index = await self._ask(requests.log_index())
        newest = None
        if log_index.ok and log_index.reply is not None:
            newest = models.parse_log_index(log_index.reply.body).newest
        return BootstrapResult(reduction.snapshot, csms, self.requests, newest)

    async def _version(self) -> PanelInfo:
        result = await self._ask(requests.version_info())
        if not result.ok or result.reply is None:
            return self._info
        version = models.parse_version_info(result.reply.body)
        return replace(
            self._info,
            serial=version.serial or self._info.serial,
            model=version.model,
            firmware=version.firmware,
        )

    async def _table(self, domain: str) -> models.TableInfo | None:
        result = await self._ask(requests.table_info(domain))
        return models.parse_table_info(result.reply.body) if result.ok and result.reply else None

    async def _configured(self, domain: str, table: models.TableInfo | None) -> tuple[int, ...]:
        transfer = models.PagedTransfer(domain, table.table_elements if table else None)
        while (block := transfer.next_block()) is not None:
            result = await self._ask(requests.get_configured(domain, block))
            if not result.ok or result.reply is None:
                if domain in REQUIRED_DOMAINS:
                    raise BootstrapFailed(f"{domain}.get_configured refused: {result.reason}")
                log.info("inventory_unavailable", domain=domain, code=result.code)
                return ()
            try:
                transfer.add(result.reply.body)
            except MalformedMessage as exc:
                raise BootstrapFailed(f"{domain}.get_configured: {exc}") from exc
        return transfer.ids()

    async def _zone_definitions(self) -> tuple[str, ...]:
        names: list[str] = []
        block, count = 1, 1
        while block <= count:
            result = await self._ask(requests.zone_defs(block))
            if not result.ok or result.reply is None:
                break
            try:
                page = models.parse_page(result.reply.body, "definitions")
            except MalformedMessage:
                break
            count = page.block_count
            if isinstance(page.items, list):
                names.extend(str(name) for name in page.items)
            block += 1
        return tuple(names)

    async def _attribs(self, domain: str, entity_id: int) -> models.Attribs | None:
        result = await self._ask(requests.get_attribs(domain, entity_id))
        if result.code == PanelErrorCode.INVALID_ID or not result.ok or result.reply is None:
            return None
        try:
            return models.parse_attribs(domain, result.reply.body)
        except MalformedMessage:
            return None

    async def _status(self, reduction: Reduction) -> None:
        snapshot = reduction.snapshot
        if snapshot.zones:
            await self._apply(reduction, requests.all_zones_status())
        if snapshot.outputs:
            await self._apply(reduction, requests.all_outputs_status())
        for domain in _STATUS_PER_ID:
            kind = _FACTORIES[domain][0]
            for entity_id in snapshot.entities(kind):
                await self._apply(reduction, requests.get_status(domain, entity_id))
        await self._apply(reduction, requests.system_troubles())

    async def _apply(self, reduction: Reduction, spec: requests.RequestSpec) -> None:
        result = await self._ask(spec)
        if result.ok and result.reply is not None:
            try:
                apply_message(reduction, result.reply)
            except MalformedMessage as exc:
                log.warning("status_malformed", route=spec.route, error=str(exc))


def _entity(
    factory: Any, domain: str, attribs: models.Attribs, definitions: tuple[str, ...]
) -> Any:
    if domain == "zone":
        definition = _definition_name(attribs.definition, definitions)
        if definition == UNDEFINED:
            return None  # placeholder zones are never exposed
        return Zone(attribs.entity_id, attribs.name, attribs.area_id, definition)
    if domain in ("light", "lock", "barrier", "keypad"):
        return factory(attribs.entity_id, attribs.name, attribs.area_id)
    return factory(attribs.entity_id, attribs.name)


def _definition_name(value: str | int | None, definitions: tuple[str, ...]) -> str | None:
    """Definitions may be names or 1-based indexes into ``zone.get_defs`` (ADR-0002)."""
    if isinstance(value, str):
        return value.strip().upper() or None
    if isinstance(value, int) and 1 <= value <= len(definitions):
        return definitions[value - 1].strip().upper()
    return None
