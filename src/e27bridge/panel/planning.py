"""Turn a validated user command into the one request that carries it out.

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
