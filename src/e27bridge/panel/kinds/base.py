"""The shape of one entity kind as the engine sees it, and the registry that lists them.

A kind declares how its entities are read at bootstrap (``get_attribs``, then per-id or bulk
status), how a status reply or broadcast folds into an entity, and which panel events a
change means. Bootstrap, reducer and the MQTT layer iterate a registry instead of naming
kinds (ADR-0008).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from e27bridge.protocol import models, requests

K = TypeVar("K")
S = TypeVar("S")
E = TypeVar("E")

Event = tuple[str, dict[str, Any]]  # a panel event: type and data
STATUS_COMMANDS = frozenset({"get_status", "set_status", "set_arm_state"})


@dataclass(frozen=True, slots=True)
class Found:
    """What bootstrap read besides an entity's own attributes."""

    definitions: tuple[str, ...] = ()  # ``zone.get_defs``, for zones that name theirs by index


@dataclass(frozen=True, slots=True)
class StatusReader:
    """Turns a reply/broadcast body into partial statuses by id, and folds one into an entity."""

    parse: Callable[[dict[str, Any]], Mapping[int, Any]]
    merge: Callable[[Any, Any], Any]


@dataclass(frozen=True, slots=True)
class BulkStatus:
    """One request that reads the status of every entity of a kind."""

    command: str
    request: Callable[[], requests.RequestSpec]
    reader: StatusReader


@dataclass(frozen=True, slots=True)
class Write:
    """The one request that carries out a user command on one entity."""

    request: requests.RequestSpec
    entity_id: int
    urgent: bool = False  # goes ahead of other commands (disarm)
    reply_timeout: float | None = None  # None: the queue's default
    code: int | None = field(default=None, repr=False)  # to authenticate with when refused


Writes = Mapping[type, Callable[[Any], Write]]  # command type -> its write


def _no_events(old: Any, new: Any) -> tuple[Event, ...]:
    return ()


def _silent(old: Any, new: Any) -> str | None:
    return None


def switched(old: bool | None, new: bool | None, on: str, off: str) -> str | None:
    """``on``/``off`` when a known flag changed; None when nothing worth saying did."""
    if old == new or new is None:
        return None
    return on if new else off


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Everything the engine needs about one kind; the protocol domain is the kind's value."""

    label: str  # plural for people: "3 areas, 96 zones" (live view)
    build: Callable[[models.Attribs, Found], Any | None]  # None: not exposed
    status: StatusReader | None = None  # per-id get_status / set_status / broadcasts
    bulk: BulkStatus | None = None  # preferred over per-id reads at bootstrap
    status_commands: frozenset[str] = STATUS_COMMANDS
    events: Callable[[Any, Any], tuple[Event, ...]] = _no_events
    describe: Callable[[Any, Any], str | None] = _silent  # a change in words (live view)
    commands: Writes = field(default_factory=dict)  # user commands on it, and their writes
    required: bool = False  # bootstrap fails when its inventory cannot be read
    needs_definitions: bool = False  # read ``zone.get_defs`` before building entities


def per_id(domain: str, parse: Callable[[dict[str, Any]], Any]) -> Callable[..., Mapping[int, Any]]:
    """A status body names one entity by ``<domain>_id``; bodies without it are ignored."""
    key = f"{domain}_id"

    def read(body: dict[str, Any]) -> Mapping[int, Any]:
        if key not in body:
            return {}
        return {models.require_id(body, domain): parse(body)}

    return read


def merge_present(old: E, status: Any, *names: str) -> E:
    """Partial update: the named fields the panel sent (not None) replace the old values."""
    changes = {n: v for n in names if (v := getattr(status, n)) is not None}
    return replace(old, **changes) if changes else old  # type: ignore[type-var]


class Registry(Generic[K, S]):
    """Kinds in publication order; every listing of kinds iterates one of these."""

    def __init__(self, specs: Mapping[K, S]) -> None:
        self._specs = dict(specs)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._specs))

    def __contains__(self, kind: object) -> bool:
        return kind in self._specs

    def __getitem__(self, kind: K) -> S:
        return self._specs[kind]

    def get(self, kind: K) -> S | None:
        return self._specs.get(kind)

    def items(self) -> list[tuple[K, S]]:
        return list(self._specs.items())

    @contextmanager
    def including(self, kind: K, spec: S) -> Iterator[None]:
        """Add a kind for the duration of a block (an extension, or a test's fake kind)."""
        if kind in self._specs:
            raise ValueError(f"kind {kind!r} is already registered")
        self._specs[kind] = spec
        try:
            yield
        finally:
            del self._specs[kind]
