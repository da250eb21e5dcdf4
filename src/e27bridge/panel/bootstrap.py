"""Bootstrap after every HELLO (protocol §15): inventory, names, then current status.

Every request goes through the session's single queue, one at a time, at background
priority so user commands overtake it. The configuration of a kind read before (in this
process, or stored by an earlier one) is kept when its table checksum (``table_csm``,
§15.4) is unchanged; a kind whose checksum changed or is missing is read again; status is
always read (ADR-0014).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, replace
from typing import Any

import structlog

from e27bridge.panel.inventory import Inventory, KindRead, attribs_entry, build_entities
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
    inventory: Inventory
    requests: int = 0
    log_newest: int | None = None  # where the event log stood; older entries are history

    @property
    def table_csms(self) -> dict[str, int]:
        return {d: r.table_csm for d, r in self.inventory.kinds.items() if r.table_csm is not None}


class Bootstrapper:
    def __init__(
        self,
        queue: RequestQueue,
        panel_id: str,
        info: PanelInfo,
        previous: Inventory | None = None,
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
        inventory = await self._inventory(info)
        reduction = Reduction(PanelSnapshot(self._panel_id, info))
        found = Found(inventory.definitions)
        for kind in KINDS:
            read = inventory.kinds.get(kind.value)
            entities = build_entities(kind, read, found) if read is not None else {}
            reduction.snapshot = reduction.snapshot.with_entities(kind, entities)
        for spec in status_plan(reduction.snapshot):
            await self._apply(reduction, spec)
        return BootstrapResult(
            reduction.snapshot, inventory, self.requests, await self._log_newest()
        )

    async def _inventory(self, info: PanelInfo) -> Inventory:
        """Every kind's configuration: kept from the last read where its table checksum is
        unchanged, else read again (ADR-0014); zone definitions only with the zones."""
        now = time.time()
        previous = self._previous or Inventory(mac=info.mac, read_at=now, kinds={})
        kinds: dict[str, KindRead] = {}
        reread: list[EntityKind] = []
        for kind in KINDS:
            table = await self._table(kind)
            csm = table.table_csm if table is not None else None
            kept = previous.reusable(kind, csm)
            if kept is None:
                reread.append(kind)
                kept = KindRead(table_csm=csm, entries=await self._configured_attribs(kind, table))
            kinds[kind.value] = kept
        log.info("bootstrap_inventory", panel=self._panel_id, reread=[k.value for k in reread])
        definitions = previous.definitions
        if any(KINDS[k].needs_definitions and kinds[k.value].entries for k in reread):
            definitions = await self._zone_definitions()
        # The oldest configuration kept dates the whole: the maximum age bounds every kind.
        read_at = previous.read_at if len(reread) < len(kinds) else now
        return Inventory(mac=info.mac, read_at=read_at, definitions=definitions, kinds=kinds)

    async def _configured_attribs(
        self, kind: EntityKind, table: paging.TableInfo | None
    ) -> dict[int, dict[str, Any] | None]:
        """Each configured id's ``get_attribs`` reply (None: refused)."""
        ids = await self._configured(kind, table)
        return {entity_id: await self._attribs(kind.value, entity_id) for entity_id in ids}

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

    async def _attribs(self, domain: str, entity_id: int) -> dict[str, Any] | None:
        result = await self._ask(requests.get_attribs(domain, entity_id))
        if result.code == PanelErrorCode.INVALID_ID or not result.ok or result.reply is None:
            return None
        try:
            models.parse_attribs(domain, result.reply.body)
        except MalformedMessage:
            return None
        return attribs_entry(result.reply.body)

    async def _apply(self, reduction: Reduction, spec: requests.RequestSpec) -> None:
        result = await self._ask(spec)
        if result.ok and result.reply is not None:
            try:
                apply_message(reduction, result.reply)
            except MalformedMessage as exc:
                log.warning("status_malformed", route=spec.route, error=str(exc))


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
