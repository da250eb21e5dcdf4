"""The panel's configuration as last read: per kind, the table checksum and each configured
entity's ``get_attribs`` reply (ADR-0014).

One source for both reuses: the owner keeps the last read in memory across reconnects and
in a file per panel (MAC) across restarts. Entities are rebuilt from the stored replies by
each kind's own ``build`` in the registry, so a new kind needs nothing here. A file that
is unreadable, of another panel or format, or older than the maximum age is ignored
(logged) and the panel is read in full; it never stops a start.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from e27bridge.files import write_private_file
from e27bridge.panel.kinds import KINDS, EntityKind
from e27bridge.panel.kinds.base import Found
from e27bridge.protocol import models
from e27bridge.protocol.discovery import normalize_mac
from e27bridge.protocol.errors import MalformedMessage

log = structlog.get_logger("e27bridge.inventory")

FORMAT_VERSION: Literal[1] = 1
DEFAULT_MAX_AGE = 86400.0  # a day: bounds a rename the firmware did not count (ADR-0014)
# get_attribs replies carry names and settings; anything that might be a credential stays out.
_SECRET = re.compile(r"pin|pass|secret|key|code", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KindRead(_Strict):
    """One kind as read: its table checksum (None: none given) and, per configured id, the
    ``get_attribs`` reply body (None: refused)."""

    table_csm: int | None
    entries: dict[int, dict[str, Any] | None]


class Inventory(_Strict):
    version: Literal[1] = FORMAT_VERSION
    mac: str
    read_at: float  # wall clock, seconds since the epoch
    definitions: tuple[str, ...] = ()  # ``zone.get_defs``
    kinds: dict[str, KindRead]

    def reusable(self, kind: EntityKind, table_csm: int | None) -> KindRead | None:
        """This kind's read when the panel's checksum for it is known and unchanged."""
        read = self.kinds.get(kind.value)
        if read is None or table_csm is None or read.table_csm != table_csm:
            return None
        return read

    def fresh(self, max_age: float, now: float | None = None) -> bool:
        age = (time.time() if now is None else now) - self.read_at
        return 0 <= age <= max_age


def attribs_entry(body: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of a ``get_attribs`` reply: everything but credential-like fields."""
    return {k: v for k, v in body.items() if not _SECRET.search(k) or k.endswith("_id")}


def build_entities(kind: EntityKind, read: KindRead, found: Found) -> dict[int, Any]:
    """Each configured id's entity, built by the kind (None and unparsable: not exposed)."""
    spec = KINDS[kind]
    entities = {}
    for entity_id, body in read.entries.items():
        if body is None:
            continue
        try:
            attribs = models.parse_attribs(kind.value, dict(body))
        except MalformedMessage:
            continue
        entity = spec.build(attribs, found)
        if entity is not None:
            entities[entity_id] = entity
    return entities


class InventoryKeeper:
    """The owner's last read: in memory across reconnects, in the file across restarts."""

    def __init__(self, max_age: float, file: InventoryFile | None = None) -> None:
        self.max_age = max_age
        self._file = file
        self._last: Inventory | None = None
        self._loaded = False

    def previous(self) -> Inventory | None:
        """The last read of this panel, unless older than the maximum age (then: none)."""
        if not self._loaded and self._file is not None:
            self._last, self._loaded = self._file.load(), True
        if self._last is not None and not self._last.fresh(self.max_age):
            log.info("inventory_expired", mac=self._last.mac, max_age=self.max_age)
            self._last = None
        return self._last

    def keep(self, inventory: Inventory) -> None:
        """Remember a read; store it when it differs (rare: a sync write, like host hints)."""
        if inventory != self._last and self._file is not None:
            self._file.save(inventory)
        self._last = inventory


class InventoryFile:
    """The stored inventory of one panel: ``<state_dir>/inventory/<MAC>.json``, 0600."""

    def __init__(self, state_dir: Path, mac: str) -> None:
        self.mac = normalize_mac(mac)
        self.path = Path(state_dir) / "inventory" / f"{self.mac}.json"

    def __repr__(self) -> str:
        return f"InventoryFile({str(self.path)!r})"

    def load(self) -> Inventory | None:
        """The stored read; None when there is none or it cannot be used (logged)."""
        try:
            inventory = Inventory.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except OSError as exc:
            reason = f"cannot read: {exc.strerror or exc}"
        except ValidationError as exc:
            reason = f"invalid: {exc.error_count()} error(s), first: {_first(exc)}"
        else:
            if _mac(inventory.mac) == self.mac:
                return inventory
            reason = f"belongs to panel {inventory.mac}"
        log.warning("inventory_ignored", path=str(self.path), reason=reason)
        return None

    def save(self, inventory: Inventory) -> None:
        """Write atomically; a failure is logged, never raised (the read itself succeeded)."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private_file(self.path, inventory.model_dump_json().encode())
        except OSError as exc:
            log.warning("inventory_not_saved", path=str(self.path), error=str(exc))


def _mac(value: str) -> str | None:
    try:
        return normalize_mac(value)
    except ValueError:
        return None


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
