"""Table sizes and paged ``get_configured`` transfers: which ids the panel has (protocol §13.1).

Blocks arrive one request at a time; ``PagedTransfer`` says which block to ask for next and
merges the ids, refusing pages that contradict each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from e27bridge.protocol.errors import MalformedMessage
from e27bridge.protocol.models import as_int

MAX_BLOCK_COUNT = 256


@dataclass(frozen=True, slots=True)
class TableInfo:
    table_csm: int | None
    table_elements: int | None
    tablesize: int | None = None
    increment_size: int | None = None
    element_size: int | None = None


def parse_table_info(body: dict[str, Any]) -> TableInfo:
    return TableInfo(
        table_csm=as_int(body.get("table_csm")),
        table_elements=as_int(body.get("table_elements")),
        tablesize=as_int(body.get("tablesize")),
        increment_size=as_int(body.get("increment_size")),
        element_size=as_int(body.get("element_size")),
    )


@dataclass(frozen=True, slots=True)
class Page:
    block_id: int
    block_count: int
    items: Any = field(repr=False)


def parse_page(body: dict[str, Any], items_key: str) -> Page:
    block_id = as_int(body.get("block_id"))
    block_count = as_int(body.get("block_count"))
    if block_id is None or block_count is None:
        raise MalformedMessage("paged reply without block_id/block_count")
    if not 0 <= block_id <= block_count <= MAX_BLOCK_COUNT and not (block_count == 0):
        raise MalformedMessage(f"block {block_id} of {block_count} is out of range")
    return Page(block_id, block_count, body.get(items_key))


def parse_id_list(value: Any) -> tuple[int, ...]:
    """Absolute ids; never a bitmask (that produced phantom zones in the reference)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedMessage("id list is not a list")
    ids = []
    for item in value:
        entity_id = as_int(item)
        if entity_id is None or entity_id <= 0:
            raise MalformedMessage(f"bad id {item!r} in id list")
        ids.append(entity_id)
    return tuple(ids)


class PagedTransfer:
    """Collects ``get_configured``-style blocks 1..N; tells the caller which block is next."""

    def __init__(
        self, domain: str, table_elements: int | None = None, items_key: str | None = None
    ) -> None:
        self.domain = domain
        self.items_key = items_key or f"{domain}s"  # "zones", "tstats", ... (protocol §13.1)
        self.table_elements = table_elements
        self.block_count: int | None = None
        self._blocks: dict[int, tuple[int, ...]] = {}

    @property
    def done(self) -> bool:
        return self.block_count is not None and len(self._blocks) >= self.block_count

    def next_block(self) -> int | None:
        if self.block_count is None:
            return 1
        return next((b for b in range(1, self.block_count + 1) if b not in self._blocks), None)

    def add(self, body: dict[str, Any]) -> None:
        page = parse_page(body, self.items_key)
        if page.block_count == 0:
            self.block_count = 0
            return
        if page.block_id < 1:
            raise MalformedMessage("configured block ids start at 1")
        if self.block_count is not None and page.block_count != self.block_count:
            raise MalformedMessage("block_count changed during the transfer")
        self.block_count = page.block_count
        ids = parse_id_list(page.items)
        if self.domain == "area" and page.block_id > 1:
            ids = _rebase_area_block(ids, page.block_id, self._blocks.get(1, ()))
        self._blocks.setdefault(page.block_id, ids)

    def ids(self) -> tuple[int, ...]:
        merged = sorted({i for ids in self._blocks.values() for i in ids})
        if self.table_elements:
            merged = [i for i in merged if i <= self.table_elements]
        return tuple(merged)


def _rebase_area_block(
    ids: tuple[int, ...], block_id: int, first: tuple[int, ...]
) -> tuple[int, ...]:
    """Reference heuristic (§17.16): area ids in later blocks may be block-relative."""
    block_size = 16
    if ids and max(ids) <= block_size and (not first or min(ids) <= max(first)):
        return tuple(i + (block_id - 1) * block_size for i in ids)
    return ids
