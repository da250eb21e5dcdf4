"""Turn a validated user command into the one request that carries it out, and a refresh
into the status reads it takes.

Each kind declares the commands on its entities and their writes (``panel/kinds``); a plan
names the entity it acts on, so the follow-up re-read (acks carry no state) and the
unknown-entity check are derived instead of written per command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from e27bridge.panel.kinds import KINDS
from e27bridge.panel.queue import Priority
from e27bridge.panel.state import EntityKind, PanelSnapshot
from e27bridge.protocol import requests


@dataclass(frozen=True, slots=True)
class Plan:
    spec: requests.RequestSpec
    kind: EntityKind
    entity_id: int
    priority: Priority = Priority.NORMAL
    reply_timeout: float | None = None
    code: int | None = field(default=None, repr=False)  # authenticate with it when refused

    @property
    def reread(self) -> requests.RequestSpec:
        return requests.get_status(self.kind.value, self.entity_id)


def plan_command(snapshot: PanelSnapshot, command: Any) -> Plan:
    """Raises ``KeyError`` for an entity the panel does not have, ``ValueError`` for a
    command no kind declares."""
    plan = _plan(command)
    if plan.entity_id not in snapshot.entities(plan.kind):
        raise KeyError(f"unknown {plan.kind.value} {plan.entity_id}")
    return plan


def _plan(command: Any) -> Plan:
    for kind, spec in KINDS.items():
        write = spec.commands.get(type(command))
        if write is not None:
            w = write(command)
            priority = Priority.HIGH if w.urgent else Priority.NORMAL
            return Plan(w.request, kind, w.entity_id, priority, w.reply_timeout, w.code)
    raise ValueError(f"unsupported command {type(command).__name__}")


def kind_reads(snapshot: PanelSnapshot, kind: EntityKind) -> tuple[requests.RequestSpec, ...]:
    """The status reads of every entity of a kind: its bulk read if it has one, else one
    ``get_status`` per entity; nothing for a kind without entities or without status."""
    spec = KINDS[kind]
    ids = sorted(snapshot.entities(kind))
    if not ids:
        return ()
    if spec.bulk is not None:
        return (spec.bulk.request(),)
    if spec.status is not None:
        return tuple(requests.get_status(kind.value, entity_id) for entity_id in ids)
    return ()


def refresh_plan(
    snapshot: PanelSnapshot, kind: EntityKind | None = None, entity_id: int | None = None
) -> tuple[requests.RequestSpec, ...]:
    """The reads of a refresh: one entity's status, one kind's, or the whole panel's (every
    kind and the system troubles). ``KeyError`` for an entity the panel does not have,
    ``ValueError`` for one whose status cannot be read."""
    if kind is None:
        reads = [read for each in KINDS for read in kind_reads(snapshot, each)]
        return (*reads, requests.system_troubles())
    if entity_id is None:
        return kind_reads(snapshot, kind)
    if entity_id not in snapshot.entities(kind):
        raise KeyError(f"unknown {kind.value} {entity_id}")
    if KINDS[kind].status is None:
        raise ValueError(f"a {kind.value} has no status to read")
    return (requests.get_status(kind.value, entity_id),)
