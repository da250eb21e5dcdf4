"""Bootstrap after every HELLO (protocol §15): inventory, names, then current status.

Every request goes through the session's single queue, one at a time, at background
priority so user commands overtake it. After a reconnect, the configuration read before
is kept when every table's checksum (``table_csm``, §15.4) is unchanged: only the status
is read again. A changed or missing checksum means a full read (ADR-0011).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from e27bridge.panel.kinds import KINDS
from e27bridge.panel.kinds.base import Found
from e27bridge.panel.planning import refresh_plan
from e27bridge.panel.queue import Priority, QueueResult, RequestQueue
from e27bridge.panel.reducer import Reduction, apply_message
from e27bridge.panel.state import EntityKind, PanelInfo, PanelSnapshot
from e27bridge.protocol import models, paging, requests
from e27bridge.protocol.errors import E27Error, MalformedMessage, PanelErrorCode

log = structlog.get_logger("e27bridge.bootstrap")


def status_plan(snapshot: PanelSnapshot) -> tuple[requests.RequestSpec, ...]:
    """The status reads after the inventory: one bulk read per kind that has one, else one
    ``get_status`` per entity; kinds without entities or without status cost nothing."""
    return refresh_plan(snapshot)


class BootstrapFailed(E27Error):
    """The session ended or a required inventory could not be read."""


@dataclass
class BootstrapResult:
    snapshot: PanelSnapshot
    table_csms: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    log_newest: int | None = None  # where the event log stood; older entries are history


class Bootstrapper:
    def __init__(
        self,
        queue: RequestQueue,
        panel_id: str,
        info: PanelInfo,
        previous: BootstrapResult | None = None,
    ) -> None:
        self._queue = queue
        self._panel_id = panel_id
        self._info = info
        self._previous = previous  # the last read of this panel (same MAC), if any
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
        tables = {k: await self._table(k) for k, spec in KINDS.items() if spec.table}
        csms = {k.value: t.table_csm for k, t in tables.items() if t and t.table_csm is not None}
        reduction = Reduction(PanelSnapshot(self._panel_id, info))
        previous = self._previous
        if previous is not None and _unchanged(csms, previous.table_csms, tables):
            log.info("bootstrap_configuration_unchanged", panel=self._panel_id)
            for kind in KINDS:
                entities = previous.snapshot.entities(kind)
                reduction.snapshot = reduction.snapshot.with_entities(kind, entities)
        else:
            inventory = {k: await self._configured(k, tables.get(k)) for k in KINDS}
            found = Found(await self._zone_definitions() if _need_definitions(inventory) else ())
            for kind, ids in inventory.items():
                entities = await self._entities(kind, ids, found)
                reduction.snapshot = reduction.snapshot.with_entities(kind, entities)
        for spec in status_plan(reduction.snapshot):
            await self._apply(reduction, spec)
        return BootstrapResult(reduction.snapshot, csms, self.requests, await self._log_newest())

    async def _entities(
        self, kind: EntityKind, ids: tuple[int, ...], found: Found
    ) -> dict[int, Any]:
        """Each configured id's attributes, built into the kind's entity (None: not exposed)."""
        entities = {}
        for entity_id in ids:
            attribs = (
                await self._attribs(kind.value, entity_id)
                if KINDS[kind].attribs
                else models.Attribs(entity_id, f"{kind.value.capitalize()} {entity_id}")
            )
            entity = None if attribs is None else KINDS[kind].build(attribs, found)
            if entity is not None:
                entities[entity_id] = entity
        return entities

    async def _log_newest(self) -> int | None:
        """Where the event log stands: entries up to here are history, never replayed."""
        result = await self._ask(requests.log_index())
        if not result.ok or result.reply is None:
            return None
        return models.parse_log_index(result.reply.body).newest

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

    async def _table(self, kind: EntityKind) -> paging.TableInfo | None:
        result = await self._ask(requests.table_info(kind.value))
        return paging.parse_table_info(result.reply.body) if result.ok and result.reply else None

    async def _configured(
        self, kind: EntityKind, table: paging.TableInfo | None
    ) -> tuple[int, ...]:
        domain = kind.value
        transfer = paging.PagedTransfer(domain, table.table_elements if table else None)
        while (block := transfer.next_block()) is not None:
            result = await self._ask(requests.get_configured(domain, block))
            if not result.ok or result.reply is None:
                if KINDS[kind].required:
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
                page = paging.parse_page(result.reply.body, "definitions")
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

    async def _apply(self, reduction: Reduction, spec: requests.RequestSpec) -> None:
        result = await self._ask(spec)
        if result.ok and result.reply is not None:
            try:
                apply_message(reduction, result.reply)
            except MalformedMessage as exc:
                log.warning("status_malformed", route=spec.route, error=str(exc))


def _unchanged(csms: dict[str, int], before: dict[str, int], tables: dict[EntityKind, Any]) -> bool:
    """Every table answered with a checksum, and each equals the one read last time."""
    return bool(csms) and len(csms) == len(tables) and csms == before


def _need_definitions(inventory: dict[EntityKind, tuple[int, ...]]) -> bool:
    return any(ids and KINDS[kind].needs_definitions for kind, ids in inventory.items())


async def bootstrap_until(
    bootstrapper: Bootstrapper, ended: asyncio.Event
) -> BootstrapResult | None:
    """Run the bootstrap unless the session ends first (then None: the next one starts
    over); ``BootstrapFailed`` passes through."""
    bootstrap = asyncio.create_task(bootstrapper.run())
    lost = asyncio.create_task(ended.wait())
    try:
        await asyncio.wait({bootstrap, lost}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
        if not bootstrap.done():
            bootstrap.cancel()
    if not bootstrap.done() or bootstrap.cancelled() or ended.is_set():
        with contextlib.suppress(asyncio.CancelledError, E27Error):
            await bootstrap
        return None
    return bootstrap.result()
